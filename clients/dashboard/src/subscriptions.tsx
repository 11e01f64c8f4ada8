// The dashboard's Subscriptions: list by status, create, a page per subscription (edit, pause/resume, recover).
import { useState } from 'preact/hooks';
import { countUpTo, type Subscription } from './api.ts';
import { ApiError, Badge, Field, Pager, Select, Time, href, pageSize, useAction, useApi, useLoad } from './ui.tsx';
import { countLabel } from './overview.tsx';

export const statuses = ['active', 'paused', 'disabled', 'pending_validation'] as const;

export function Subscriptions({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0);
  const status = query.get('status') ?? '';
  const topicId = query.get('topic_id') ?? '';
  const subscriptions = useLoad(
    (client) => client.listSubscriptions({ offset, limit: pageSize, ...(status ? { status: status as Subscription['status'] } : {}) }),
    [offset, status],
  );
  const [search, setSearch] = useState('');
  const shown = (subscriptions.data ?? []).filter(
    (s) => (!topicId || s.topic_id === topicId) && (!search || `${s.id} ${s.name} ${s.url}`.toLowerCase().includes(search.toLowerCase())),
  );
  const go = (changes: Record<string, string | number | undefined>) =>
    (location.hash = href('subscriptions', { status, topic_id: topicId, offset, ...changes }));
  return (
    <section>
      <h1>Subscriptions</h1>
      <CreateSubscription topicId={topicId} created={subscriptions.reload} />
      <div class="toolbar">
        <Select
          label="Status"
          name="status"
          value={status}
          options={[['', 'any'], ...statuses.map((s): [string, string] => [s, s.replace('_', ' ')])]}
          onChange={(value) => go({ status: value, offset: 0 })}
        />
        <Field label="Search this page" name="search" value={search} onInput={setSearch} placeholder="id, name or url" />
        {topicId && (
          <p>
            Topic <code>{topicId}</code> only. <a href={href('subscriptions', { status })}>All topics</a>
          </p>
        )}
      </div>
      <ApiError error={subscriptions.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Topic</th>
            <th scope="col">URL</th>
            <th scope="col">Status</th>
            <th scope="col">Breaker</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => (
            <tr key={s.id}>
              <td>
                <a href={href(`subscriptions/${encodeURIComponent(s.id)}`)}>{s.id}</a>
                <div class="muted">{s.name}</div>
              </td>
              <td>
                <code>{s.topic_id}</code>
              </td>
              <td class="url">{s.url}</td>
              <td>
                <Badge value={s.status} />
              </td>
              <td>
                <Badge value={s.circuit_breaker.state} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager offset={offset} limit={pageSize} count={subscriptions.data?.length ?? 0} go={(o) => go({ offset: o })} />
    </section>
  );
}

export function CreateSubscription({ topicId, created }: { topicId: string; created: () => void }) {
  const { client } = useApi();
  const blank = { id: '', topic_id: topicId, name: '', url: '', max_delivery_attempts: '5', delivery_attempt_delay: '60', delivery_attempt_timeout: '5' };
  const [form, setForm] = useState(blank);
  const set = (name: keyof typeof blank) => (value: string) => setForm((f) => ({ ...f, [name]: value }));
  const create = useAction(() =>
    client.createSubscription({
      id: form.id,
      topic_id: form.topic_id,
      name: form.name,
      url: form.url,
      max_delivery_attempts: Number(form.max_delivery_attempts),
      delivery_attempt_delay: Number(form.delivery_attempt_delay),
      delivery_attempt_timeout: Number(form.delivery_attempt_timeout),
    }),
  );
  const fields = Object.keys(blank);
  return (
    <details class="panel">
      <summary>Create a subscription</summary>
      <form
        aria-label="Create a subscription"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await create.act()) {
            setForm(blank);
            created();
          }
        }}
      >
        <div class="grid">
          <Field label="Subscription id" name="id" value={form.id} onInput={set('id')} error={create.error} />
          <Field label="Topic id" name="topic_id" value={form.topic_id} onInput={set('topic_id')} error={create.error} />
          <Field label="Subscription name" name="name" value={form.name} onInput={set('name')} error={create.error} />
          <Field label="URL" name="url" type="url" value={form.url} onInput={set('url')} error={create.error} placeholder="https://example.com/webhooks" />
          <Field label="Max delivery attempts" name="max_delivery_attempts" type="number" value={form.max_delivery_attempts} onInput={set('max_delivery_attempts')} error={create.error} />
          <Field label="Delay between attempts (s)" name="delivery_attempt_delay" type="number" value={form.delivery_attempt_delay} onInput={set('delivery_attempt_delay')} error={create.error} />
          <Field label="Attempt timeout (s)" name="delivery_attempt_timeout" type="number" value={form.delivery_attempt_timeout} onInput={set('delivery_attempt_timeout')} error={create.error} />
        </div>
        <button type="submit" disabled={create.busy}>
          Create subscription
        </button>
        <ApiError error={create.error} fields={fields} />
      </form>
    </details>
  );
}

export function SubscriptionPage({ id }: { id: string }) {
  const { client } = useApi();
  const subscription = useLoad((c) => c.getSubscription(id), [id]);
  const recent = useLoad(
    async (c) => {
      const since = new Date(Date.now() - 3600_000).toISOString();
      const counts = await Promise.all(
        (['completed', 'failed', 'pending'] as const).map((status) => countUpTo((offset, limit) => c.listDeliveries({ subscription_id: id, status, created_at_gte: since, offset, limit }), 4)),
      );
      return { completed: counts[0]!, failed: counts[1]!, pending: counts[2]! };
    },
    [id],
    5000,
  );
  const toggle = useAction(async (status: 'active' | 'paused') => {
    await client.updateSubscription(id, { status });
    subscription.reload();
  });
  const s = subscription.data;
  if (!s) return <section>{subscription.error ? <ApiError error={subscription.error} /> : <p>Loading…</p>}</section>;
  const r = recent.data;
  const done = r ? r.completed.count + r.failed.count : 0;
  return (
    <section>
      <p>
        <a href={href('subscriptions')}>← Subscriptions</a>
      </p>
      <h1>
        Subscription <code>{s.id}</code> <Badge value={s.status} />
      </h1>
      <div class="actions">
        {s.status === 'paused' || s.status === 'disabled' ? (
          <button type="button" disabled={toggle.busy} onClick={() => void toggle.act('active')}>
            Resume
          </button>
        ) : (
          <button type="button" disabled={toggle.busy} onClick={() => void toggle.act('paused')}>
            Pause
          </button>
        )}
        <a class="button" href={href('deliveries', { subscription_id: s.id })}>
          Deliveries
        </a>
        <a class="button" href={href('deliveries', { subscription_id: s.id, status: 'failed' })}>
          Failed deliveries
        </a>
      </div>
      <ApiError error={toggle.error} />
      <div class="cards">
        <div class="card">
          <span class="label">Success rate (last hour)</span>
          <span class="value">{r ? (done ? `${Math.round((r.completed.count / done) * 100)} %` : 'no deliveries') : '…'}</span>
        </div>
        <div class="card">
          <span class="label">Completed / failed / pending (last hour)</span>
          <span class="value">{r ? `${countLabel(r.completed)} / ${countLabel(r.failed)} / ${countLabel(r.pending)}` : '…'}</span>
        </div>
        <div class="card">
          <span class="label">Circuit breaker</span>
          <span class="value">
            <Badge value={s.circuit_breaker.state} />
          </span>
          {s.circuit_breaker.next_probe_at && (
            <small>
              next probe <Time at={s.circuit_breaker.next_probe_at} />
            </small>
          )}
        </div>
      </div>
      <dl class="facts">
        <dt>Topic</dt>
        <dd>
          <code>{s.topic_id}</code>
        </dd>
        <dt>URL</dt>
        <dd class="url">{s.url}</dd>
        <dt>Status reason</dt>
        <dd>{s.status_reason || '—'}</dd>
        <dt>Attempts</dt>
        <dd>
          at most {s.max_delivery_attempts}, {s.delivery_attempt_delay} s apart, {s.delivery_attempt_timeout} s each
        </dd>
        <dt>Retry policy</dt>
        <dd>
          {s.retry_policy.strategy}, max delay {s.retry_policy.max_delay} s, jitter {s.retry_policy.jitter}
          {s.retry_policy.schedule.length > 0 && `, schedule ${s.retry_policy.schedule.join(', ')} s`}
        </dd>
        <dt>In flight / rate limit</dt>
        <dd>
          {s.max_in_flight || 'default'} / {s.rate_limit ? `${s.rate_limit}/s` : 'none'}
        </dd>
        <dt>Content mode, signatures</dt>
        <dd>
          {s.content_mode}, {s.signature_schemes.join(' + ')}
        </dd>
      </dl>
      <EditSubscription subscription={s} saved={subscription.reload} />
      <RecoverFailures id={s.id} />
    </section>
  );
}

export function EditSubscription({ subscription, saved }: { subscription: Subscription; saved: () => void }) {
  const { client } = useApi();
  const initial = {
    name: subscription.name,
    url: subscription.url,
    max_delivery_attempts: String(subscription.max_delivery_attempts),
    delivery_attempt_delay: String(subscription.delivery_attempt_delay),
    delivery_attempt_timeout: String(subscription.delivery_attempt_timeout),
  };
  const [form, setForm] = useState(initial);
  const [done, setDone] = useState(false);
  const set = (name: keyof typeof initial) => (value: string) => setForm((f) => ({ ...f, [name]: value }));
  const save = useAction(() =>
    client.updateSubscription(subscription.id, {
      name: form.name,
      url: form.url,
      max_delivery_attempts: Number(form.max_delivery_attempts),
      delivery_attempt_delay: Number(form.delivery_attempt_delay),
      delivery_attempt_timeout: Number(form.delivery_attempt_timeout),
    }),
  );
  return (
    <form
      class="panel"
      aria-label="Edit the subscription"
      onSubmit={async (e) => {
        e.preventDefault();
        setDone(false);
        if (await save.act()) {
          setDone(true);
          saved();
        }
      }}
    >
      <h2>Edit</h2>
      <div class="grid">
        <Field label="Subscription name" name="name" value={form.name} onInput={set('name')} error={save.error} />
        <Field label="URL" name="url" type="url" value={form.url} onInput={set('url')} error={save.error} />
        <Field label="Max delivery attempts" name="max_delivery_attempts" type="number" value={form.max_delivery_attempts} onInput={set('max_delivery_attempts')} error={save.error} />
        <Field label="Delay between attempts (s)" name="delivery_attempt_delay" type="number" value={form.delivery_attempt_delay} onInput={set('delivery_attempt_delay')} error={save.error} />
        <Field label="Attempt timeout (s)" name="delivery_attempt_timeout" type="number" value={form.delivery_attempt_timeout} onInput={set('delivery_attempt_timeout')} error={save.error} />
      </div>
      <button type="submit" disabled={save.busy}>
        Save
      </button>
      {done && (
        <span class="ok" role="status">
          Saved.
        </span>
      )}
      <ApiError error={save.error} fields={Object.keys(initial)} />
    </form>
  );
}

export function RecoverFailures({ id }: { id: string }) {
  const { client } = useApi();
  const [since, setSince] = useState(new Date(Date.now() - 86400_000).toISOString().slice(0, 10));
  const [result, setResult] = useState<number>();
  const recover = useAction(async () => setResult((await client.recoverSubscription(id, { since })).recovered));
  return (
    <form
      class="panel"
      aria-label="Recover failed deliveries"
      onSubmit={(e) => {
        e.preventDefault();
        setResult(undefined);
        void recover.act();
      }}
    >
      <h2>Recover failures</h2>
      <p class="hint">Gives every failed delivery created since then a fresh retry series with the subscription's current settings (admin key).</p>
      <div class="row">
        <Field label="Failed since" name="since" value={since} onInput={setSince} error={recover.error} hint="a date (2026-01-31) or an RFC 3339 time" />
        <button type="submit" disabled={recover.busy}>
          Recover failures
        </button>
      </div>
      {result !== undefined && (
        <p class="ok" role="status">
          Recovered {result} failed {result === 1 ? 'delivery' : 'deliveries'}.
        </p>
      )}
      <ApiError error={recover.error} fields={['since']} />
    </form>
  );
}
