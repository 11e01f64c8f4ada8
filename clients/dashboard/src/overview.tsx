// The dashboard's Overview: backlog, failures, oldest pending, attempts per second, refreshed every few seconds.
import { useEffect, useState } from 'preact/hooks';
import { countUpTo } from './api.ts';
import { ApiError, age, href, useLoad } from './ui.tsx';

export interface Sample {
  at: number;
  attempts: number;
  failed: number;
  pending: number;
}
export const windowSeconds = 10;
export const countLabel = (c: { count: number; capped: boolean }) => `${c.count}${c.capped ? '+' : ''}`;

export function Chart({ label, samples, series }: { label: string; samples: Sample[]; series: { key: 'attempts' | 'failed' | 'pending'; name: string; class: string }[] }) {
  const width = 320;
  const height = 90;
  const max = Math.max(1, ...samples.flatMap((s) => series.map((line) => s[line.key])));
  const x = (i: number) => (samples.length < 2 ? width : (i / (samples.length - 1)) * width);
  const y = (v: number) => height - 4 - (v / max) * (height - 12);
  const last = samples.at(-1);
  return (
    <figure class="chart">
      <figcaption>
        {label}{' '}
        {series.map((line) => (
          <span key={line.key} class={`legend ${line.class}`}>
            {line.name}: {last ? +last[line.key].toFixed(2) : '…'}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}, last ${samples.length} samples, up to ${+max.toFixed(2)}`}>
        <line x1="0" x2={width} y1={height - 4} y2={height - 4} class="axis" />
        {series.map((line) => (
          <polyline key={line.key} class={line.class} points={samples.map((s, i) => `${x(i).toFixed(1)},${y(s[line.key]).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
    </figure>
  );
}

export function Overview() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const stats = useLoad(
    async (client) => {
      const since = new Date(Date.now() - windowSeconds * 1000).toISOString();
      const [pending, failed, attempts] = await Promise.all([
        countUpTo((offset, limit) => client.listDeliveries({ status: 'pending', offset, limit })),
        countUpTo((offset, limit) => client.listDeliveries({ status: 'failed', offset, limit })),
        countUpTo((offset, limit) => client.listDeliveryAttempts({ created_at_gte: since, offset, limit }), 20).then(async (count) => ({
          count,
          failed: count.count === 0 ? 0 : (await client.listDeliveryAttempts({ created_at_gte: since, limit: 50 })).filter((a) => !a.success).length,
        })),
      ]);
      return { pending, failed, attempts, at: Date.now() };
    },
    [],
    3000,
  );
  useEffect(() => {
    const s = stats.data;
    if (!s) return;
    setSamples((previous) =>
      [...previous, { at: s.at, attempts: s.attempts.count.count / windowSeconds, failed: s.attempts.failed / windowSeconds, pending: s.pending.count }].slice(-60),
    );
  }, [stats.data]);
  const s = stats.data;
  const oldest = s?.pending.first;
  return (
    <section>
      <h1>Overview</h1>
      <ApiError error={stats.error} />
      <div class="cards">
        <a class="card" href={href('deliveries', { status: 'pending' })}>
          <span class="label">Pending deliveries</span>
          <span class="value" data-testid="pending">{s ? countLabel(s.pending) : '…'}</span>
        </a>
        <a class="card" href={href('deliveries', { status: 'failed' })}>
          <span class="label">Failed deliveries</span>
          <span class="value" data-testid="failed">{s ? countLabel(s.failed) : '…'}</span>
        </a>
        <div class="card">
          <span class="label">Oldest pending</span>
          <span class="value">{s ? (oldest ? age((Date.now() - Date.parse(oldest.created_at)) / 1000) : 'none') : '…'}</span>
        </div>
        <div class="card">
          <span class="label">Attempts per second (last {windowSeconds} s)</span>
          <span class="value">{s ? +(s.attempts.count.count / windowSeconds).toFixed(2) : '…'}</span>
        </div>
      </div>
      <div class="charts">
        <Chart
          label="Attempts/s"
          samples={samples}
          series={[
            { key: 'attempts', name: 'all', class: 'line-ok' },
            { key: 'failed', name: 'failed', class: 'line-bad' },
          ]}
        />
        <Chart label="Pending backlog" samples={samples} series={[{ key: 'pending', name: 'pending', class: 'line-pending' }]} />
      </div>
      <p class="hint">
        Refreshed every 3 s from the REST API. Counts stop at 500 (shown as 500+). <a href={href('deliveries', { status: 'failed' })}>See failed deliveries</a>.
      </p>
    </section>
  );
}
