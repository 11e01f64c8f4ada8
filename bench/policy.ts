// The delivery-policy runs (issue 15): slow receivers, a dead endpoint next to a healthy one, and
// backpressure (429 + Retry-After); with --concurrency-sweep, the sweep for the concurrency default.
// Each compares with a baseline measured in the same run; none asserts a timing.
import { backpressure, type BackpressureResult } from './backpressure.ts';
import type { Cluster } from './cluster.ts';
import { concurrencySweep, sweepConcurrencies, type SweepRow } from './concurrency-sweep.ts';
import { deadEndpoint, type DeadEndpointResult } from './dead-endpoint.ts';
import type { BenchOptions } from './options.ts';
import { slowReceivers, type SlowReceiversResult } from './slow-receivers.ts';

/** The slow receiver's answer delay. */
export const slowDelayMs = 100;
/** The throttling receiver's Retry-After: above the 1 s attempt delay, so honouring it shows. */
export const retryAfterSeconds = 2;

export const policyTargets = {
  /** Slow-receiver drain / instant drain. */
  slowVsInstant: 0.8,
  /** Healthy subscription's rate next to a dead one / alone. */
  healthyNextToDead: 0.9,
};

export interface PolicyResults {
  slowReceivers: SlowReceiversResult;
  deadEndpoint: DeadEndpointResult;
  backpressure: BackpressureResult;
  concurrencySweep?: SweepRow[];
}

export async function policyRuns(cluster: Cluster, options: BenchOptions, log: (line: string) => void): Promise<PolicyResults> {
  const common = { concurrency: options.concurrency, publishConcurrency: options.publishConcurrency };
  log(`policy 1: slow receivers, drain of ${options.n} to the instant and the ${slowDelayMs} ms receiver, 1 worker x ${options.concurrency}`);
  const slow = await slowReceivers(cluster, { ...common, n: options.n, delayMs: slowDelayMs });
  const dead = await deadEndpoint(cluster, { ...common, n: options.policyN, timeLimitS: options.quick ? 30 : 180 }, (line) => log(`policy 2: ${line}`));
  log(`policy 3: backpressure, ${options.policyN} deliveries, every other request 429 with Retry-After: ${retryAfterSeconds}`);
  const back = await backpressure(cluster, { ...common, n: options.policyN, retryAfterSeconds });
  const results: PolicyResults = { slowReceivers: slow, deadEndpoint: dead, backpressure: back };
  if (options.concurrencySweep) {
    results.concurrencySweep = await concurrencySweep(
      cluster,
      { n: options.sweepN, publishConcurrency: options.publishConcurrency, delayMs: slowDelayMs, concurrencies: sweepConcurrencies },
      log,
    );
  }
  return results;
}

/** What the runs found broken (not slow): lost deliveries. Timing shortfalls are reported, not failed. */
export function policyProblems(p: PolicyResults): string[] {
  const b = p.backpressure;
  return b.allDelivered
    ? []
    : [`backpressure: ${b.counts.completed} of ${b.deliveries} deliveries completed (${b.counts.failed} failed), ${b.received} received with a 200`];
}
