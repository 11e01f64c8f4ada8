// Each subscription's attempts in flight in this process, held under a limit that follows how its
// receiver behaves, as TCP's congestion window does: it starts small (so a dead endpoint never gets a
// burst of slots), grows by one with each success up to the cap (the process's share of the
// subscription's max_in_flight), and halves with each failure, so a dead endpoint soon holds one
// slot while a healthy one uses its whole share. An attempt of a healthy subscription over its limit
// waits a little for a slot (a fast receiver frees one within milliseconds); when none frees in
// time, or the subscription is failing, the delivery is parked instead, so it stops holding one of
// the worker's job slots.

export interface InFlightLimits {
  /** Takes a slot of `subscriptionId` (at most its limit under `cap` in flight), waiting up to `waitMs`; false when none freed. */
  acquire(subscriptionId: string, cap: number, waitMs: number): Promise<boolean>;
  /**
   * Gives the slot back, saying whether its attempt succeeded (which moves the subscription's limit
   * under `cap`); undefined when no attempt was made (the limit stays).
   */
  release(subscriptionId: string, succeeded: boolean | undefined, cap: number): void;
  /** The subscription's limit now, under `cap`. */
  limit(subscriptionId: string, cap: number): number;
  /** Its last attempt failed. */
  failing(subscriptionId: string): boolean;
  /** Attempts in flight for the subscription. */
  count(subscriptionId: string): number;
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/** A subscription this process has not sent to yet starts at this many slots (TCP's initial window). */
export const initialLimit = 32;
/** Subscriptions remembered; past this the memory starts over (every limit back to its start). */
const maxRemembered = 100_000;

export function createInFlightLimits(): InFlightLimits {
  const inFlight = new Map<string, number>();
  const waiting = new Map<string, Waiter[]>();
  /** Each subscription's limit (fractional after halving) and whether its last attempt failed. */
  const limits = new Map<string, { limit: number; failing: boolean }>();

  const count = (id: string) => inFlight.get(id) ?? 0;
  const limit = (id: string, cap: number) => Math.max(1, Math.min(cap, Math.floor(limits.get(id)?.limit ?? initialLimit)));

  return {
    count,
    limit,
    failing: (id) => limits.get(id)?.failing ?? false,
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
      if (succeeded !== undefined) {
        if (!limits.has(id) && limits.size >= maxRemembered) limits.clear();
        const current = Math.min(cap, limits.get(id)?.limit ?? initialLimit);
        limits.set(id, succeeded ? { limit: Math.min(cap, current + 1), failing: false } : { limit: Math.max(1, Math.min(current, count(id)) / 2), failing: true });
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
