// The delivery-policy section of the printed report.
import type { SweepRow } from './concurrency-sweep.ts';
import { policyTargets, type PolicyResults } from './policy.ts';
import { fixed, int, mark, pct, table } from './report.ts';

export function formatSweep(rows: SweepRow[], delayMs: number): string {
  return table([
    ['  concurrency', 'instant/s', `${delayMs} ms/s`, 'slow/instant', 'slow ceiling c/delay', 'worker CPU/1k (inst, slow)', 'worker core', 'postgres core', 'idle cores', 'peak RSS MiB'],
    ...rows.map((r) => [
      `  ${r.concurrency}`,
      int(r.instantPerSecond),
      int(r.slowPerSecond),
      pct(r.ratio),
      int(r.slowCeilingPerSecond),
      `${fixed(r.workerCpuPer1000.instant, 2)} s, ${fixed(r.workerCpuPer1000.slow, 2)} s`,
      `${pct(r.workerCore.instant)}, ${pct(r.workerCore.slow)}`,
      `${pct(r.postgresCore.instant)}, ${pct(r.postgresCore.slow)}`,
      `${fixed(r.idleCores.instant, 2)}, ${fixed(r.idleCores.slow, 2)}`,
      `${fixed(r.workerPeakRssMiB.instant, 0)}, ${fixed(r.workerPeakRssMiB.slow, 0)}`,
    ]),
  ]);
}

export function formatPolicy(p: PolicyResults): string {
  const s = p.slowReceivers;
  const d = p.deadEndpoint;
  const b = p.backpressure;
  const healthy = (r: typeof d.alone) =>
    `${int(r.perSecond)} deliveries/s${r.complete ? '' : ` (INCOMPLETE: ${int(r.received)} of ${int(d.deliveries)} in ${fixed(r.seconds, 0)} s)`}`;
  const out = [
    'Delivery policy (ratios to a baseline run in the same bench; 1 worker each)',
    table([
      ['Run', 'Result', 'Baseline', 'Ratio', 'Target'],
      [
        `P1. slow receivers (${s.delayMs} ms), drain ${int(s.deliveries)}, c=${s.concurrency}`,
        `${int(s.slowPerSecond)} deliveries/s (ceiling c/delay ${int(s.slowCeilingPerSecond)})`,
        `instant: ${int(s.instantPerSecond)}/s`,
        pct(s.ratio),
        `>= ${pct(policyTargets.slowVsInstant)}: ${mark(s.ratio >= policyTargets.slowVsInstant)}`,
      ],
      [
        `P2. healthy sub next to a dead one, ${int(d.deliveries)} msgs, c=${d.concurrency}`,
        healthy(d.withDead),
        `alone: ${healthy(d.alone)}`,
        pct(d.ratio),
        `>= ${pct(policyTargets.healthyNextToDead)}: ${mark(d.ratio >= policyTargets.healthyNextToDead)}`,
      ],
      [
        `P3. backpressure, ${int(b.deliveries)} deliveries, 429 + Retry-After: ${b.retryAfterSeconds} every other request`,
        `${int(b.counts.completed)} completed, ${int(b.received)} received, ${int(b.tooManyRequests)} 429s of ${int(b.requests)} requests`,
        `delay ${b.deliveryAttemptDelay} s`,
        '',
        `all delivered: ${mark(b.allDelivered)}; never sooner than Retry-After: ${b.neverSooner ? 'PASS' : 'FAIL'}`,
      ],
    ]),
    `  P1 worker CPU per 1,000 deliveries: instant ${fixed(s.workerCpuPer1000.instant, 2)} s, slow ${fixed(s.workerCpuPer1000.slow, 2)} s`,
    `  P2 the dead receiver took ${int(d.withDead.deadRequests)} requests (none answered) while the healthy one got ${int(d.withDead.received)}`,
    `  P3 smallest gap after a 429: ${int(b.minGapMs)} ms at the receiver, ${int(b.minGapMsFromAttempts)} ms between attempts' created_at; ` +
      `${int(b.tooSoon)} retries sooner than ${b.retryAfterSeconds} s; took ${fixed(b.seconds, 1)} s`,
  ];
  if (p.concurrencySweep) out.push('', `Concurrency sweep (drain of ${int(p.concurrencySweep[0]?.deliveries ?? NaN)}, 1 worker)`, formatSweep(p.concurrencySweep, s.delayMs));
  return out.join('\n');
}
