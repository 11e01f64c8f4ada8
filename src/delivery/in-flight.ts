// Each subscription's attempts in flight in this process, held under a limit: its share of the
// subscription's max_in_flight, lowered while its attempts fail (halved by each failure, raised by
// one with each success, as TCP's congestion window): a dead endpoint soon holds one slot, a healthy
// one all its share. An attempt over the limit waits a little for a slot (a fast receiver frees one
// within milliseconds); when none frees in time, the delivery is parked instead, so it stops holding
// one of the worker's job slots.

export interface InFlightLimits {
  /** Takes a slot of `subscriptionId` (at most `cap`, or its lowered limit, in flight), waiting up to `waitMs`; false when none freed. */
  acquire(subscriptionId: string, cap: number, waitMs: number): Promise<boolean>;
  /** Gives the slot back, saying whether its attempt succeeded (which moves the subscription's limit under `cap`). */
  release(subscriptionId: string, succeeded: boolean, cap: number): void;
  /** The subscription's limit now, under `cap`. */
  limit(subscriptionId: string, cap: number): number;
  /** Attempts in flight for the subscription. */
  count(subscriptionId: string): number;
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

export function createInFlightLimits(): InFlightLimits {
  const inFlight = new Map<string, number>();
  const waiting = new Map<string, Waiter[]>();
  /** Lowered limits only: a subscription absent here may use its whole cap. */
  const lowered = new Map<string, number>();

  const count = (id: string) => inFlight.get(id) ?? 0;
  const limit = (id: string, cap: number) => Math.min(cap, Math.floor(lowered.get(id) ?? cap));

  return {
    count,
    limit,
    acquire(id, cap, waitMs) {
      if (count(id) < limit(id, cap)) {
        inFlight.set(id, count(id) + 1);
        return Promise.resolve(true);
      }
      if (waitMs <= 0) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const queue = waiting.get(id) ?? [];
        waiting.set(id, queue);
        const waiter: Waiter = {
          // release() hands its slot over: the count stays as it was.
          grant: () => {
            clearTimeout(waiter.timer);
            resolve(true);
          },
          timer: setTimeout(() => {
            queue.splice(queue.indexOf(waiter), 1);
            if (queue.length === 0) waiting.delete(id);
            resolve(false);
          }, waitMs),
        };
        queue.push(waiter);
      });
    },
    release(id, succeeded, cap) {
      const current = lowered.get(id);
      if (!succeeded) lowered.set(id, Math.max(1, Math.min(current ?? cap, count(id)) / 2));
      else if (current !== undefined) {
        if (current + 1 >= cap) lowered.delete(id);
        else lowered.set(id, current + 1);
      }
      // Hand the slot to the next waiter, unless the limit just fell below what is in flight.
      const queue = waiting.get(id);
      if (queue && count(id) <= limit(id, cap)) {
        const next = queue.shift()!;
        if (queue.length === 0) waiting.delete(id);
        next.grant();
        return;
      }
      const left = count(id) - 1;
      if (left <= 0) inFlight.delete(id);
      else inFlight.set(id, left);
    },
  };
}

/** This process's share of a cap shared by `workers` processes: at least one. */
export function localShare(cap: number, workers: number): number {
  return Math.max(1, Math.floor(cap / Math.max(1, workers)));
}
