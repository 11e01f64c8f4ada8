// The dashboard's Deliveries: a filtered, server-side paginated list; a delivery's page with its attempts.
import { useEffect, useState } from 'preact/hooks';
import type { HammerClient } from '../../typescript/src/client.ts';
import { decodeBase64, pretty, splitDump, type DeliveryAttempt } from './api.ts';
import { ApiError, Badge, Field, Pager, Select, Time, href, pageSize, useAction, useApi, useLoad } from './ui.tsx';

export const filterNames = ['topic_id', 'subscription_id', 'message_id', 'status', 'created_at_gte', 'created_at_lt'] as const;

export function Deliveries({ query }: { query: URLSearchParams }) {
  const offset = Number(query.get('offset') ?? 0);
  const applied = Object.fromEntries(filterNames.map((name) => [name, query.get(name) ?? ''])) as Record<(typeof filterNames)[number], string>;
  const [form, setForm] = useState(applied);
  useEffect(() => setForm(applied), [query.toString()]);
  const key = JSON.stringify(applied);
  const deliveries = useLoad(
    (client) => {
      const filters = Object.fromEntries(Object.entries(applied).filter(([, v]) => v !== ''));
      return client.listDeliveries({ ...filters, offset, limit: pageSize } as Parameters<HammerClient['listDeliveries']>[0]);
    },
    [key, offset],
    5000,
  );
  const set = (name: (typeof filterNames)[number]) => (value: string) => setForm((f) => ({ ...f, [name]: value }));
  return (
    <section>
      <h1>Deliveries</h1>
      <form
        class="panel"
        aria-label="Filter deliveries"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = href('deliveries', form);
        }}
      >
        <div class="grid">
          <Field label="Topic id" name="topic_id" value={form.topic_id} onInput={set('topic_id')} error={deliveries.error} />
          <Field label="Subscription id" name="subscription_id" value={form.subscription_id} onInput={set('subscription_id')} error={deliveries.error} />
          <Field label="Message id" name="message_id" value={form.message_id} onInput={set('message_id')} error={deliveries.error} />
          <Select
            label="Status"
            name="status"
            value={form.status}
            options={[['', 'any'], ['pending', 'pending'], ['completed', 'completed'], ['failed', 'failed']]}
            onChange={set('status')}
            error={deliveries.error}
          />
          <Field label="Created at or after" name="created_at_gte" value={form.created_at_gte} onInput={set('created_at_gte')} error={deliveries.error} placeholder="2026-01-31T10:00:00Z" />
          <Field label="Created before" name="created_at_lt" value={form.created_at_lt} onInput={set('created_at_lt')} error={deliveries.error} placeholder="2026-01-31" />
        </div>
        <button type="submit">Filter</button> <a href={href('deliveries')}>Clear filters</a>
      </form>
      <ApiError error={deliveries.error} fields={[...filterNames]} />
      <table>
        <thead>
          <tr>
            <th scope="col">Delivery</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Subscription</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {(deliveries.data ?? []).map((d) => (
            <tr key={d.id}>
              <td>
                <a href={href(`deliveries/${d.id}`)}>{d.id}</a>
              </td>
              <td>
                <Badge value={d.status} />
              </td>
              <td>
                {d.delivery_attempts} / {d.max_delivery_attempts}
              </td>
              <td>
                <a href={href(`subscriptions/${encodeURIComponent(d.subscription_id)}`)}>{d.subscription_id}</a>
              </td>
              <td>
                <Time at={d.created_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager offset={offset} limit={pageSize} count={deliveries.data?.length ?? 0} go={(o) => (location.hash = href('deliveries', { ...applied, offset: o }))} />
    </section>
  );
}

export function DeliveryPage({ id }: { id: string }) {
  const { client } = useApi();
  const [polling, setPolling] = useState(true);
  const delivery = useLoad((c) => c.getDelivery(id), [id], polling ? 2000 : undefined);
  const attempts = useLoad(
    async (c) => {
      const all: DeliveryAttempt[] = [];
      for await (const attempt of c.paginate('delivery_attempts', { delivery_id: id })) all.push(attempt);
      return all;
    },
    [id],
    polling ? 2000 : undefined,
  );
  const resend = useAction(async () => {
    await client.resendDelivery(id);
    setPolling(true);
    delivery.reload();
  });
  const d = delivery.data;
  // Poll while something may still change: a pending delivery, or one resent a moment ago.
  useEffect(() => {
    if (d && d.status !== 'pending' && polling) {
      const timer = setTimeout(() => setPolling(false), 6000);
      return () => clearTimeout(timer);
    }
  }, [d?.status, polling]);
  if (!d) return <section>{delivery.error ? <ApiError error={delivery.error} /> : <p>Loading…</p>}</section>;
  const data = decodeBase64(d.data);
  return (
    <section>
      <p>
        <a href={href('deliveries', { subscription_id: d.subscription_id })}>← Deliveries of {d.subscription_id}</a>
      </p>
      <h1>
        Delivery <code>{d.id}</code> <Badge value={d.status} />
      </h1>
      <div class="actions">
        <button type="button" disabled={resend.busy} onClick={() => void resend.act()}>
          Resend
        </button>
      </div>
      <ApiError error={resend.error} />
      <dl class="facts">
        <dt>Subscription</dt>
        <dd>
          <a href={href(`subscriptions/${encodeURIComponent(d.subscription_id)}`)}>{d.subscription_id}</a> (topic <code>{d.topic_id}</code>)
        </dd>
        <dt>URL</dt>
        <dd class="url">{d.url}</dd>
        <dt>Message</dt>
        <dd>
          <a href={href('deliveries', { message_id: d.message_id })}>{d.message_id}</a>, {d.content_type}
        </dd>
        <dt>Attempts</dt>
        <dd>
          {d.delivery_attempts} of {d.max_delivery_attempts}
          {d.status === 'pending' && (
            <>
              , next at <Time at={d.scheduled_at} />
            </>
          )}
        </dd>
        <dt>Created</dt>
        <dd>
          <Time at={d.created_at} />
        </dd>
      </dl>
      <details class="panel">
        <summary>Message data</summary>
        <pre>{data === undefined ? `(binary, base64) ${d.data}` : pretty(data)}</pre>
      </details>
      <h2>Attempts</h2>
      <ApiError error={attempts.error} />
      {attempts.data?.length === 0 && <p>No attempt yet.</p>}
      <ol class="attempts">
        {(attempts.data ?? []).map((attempt, i, all) => (
          <AttemptView key={attempt.id} attempt={attempt} number={i + 1} open={i === all.length - 1} />
        ))}
      </ol>
    </section>
  );
}

/** The data of a CloudEvent body sent base64 (`data_base64`), as readable text. */
export function eventData(body: string): string | undefined {
  try {
    const event = JSON.parse(body) as { data_base64?: unknown };
    if (typeof event.data_base64 !== 'string') return undefined;
    const text = decodeBase64(event.data_base64);
    return text === undefined ? undefined : pretty(text);
  } catch {
    return undefined;
  }
}

export function AttemptView({ attempt, number, open }: { attempt: DeliveryAttempt; number: number; open: boolean }) {
  const request = splitDump(attempt.request);
  const response = splitDump(attempt.response);
  return (
    <li class={`attempt ${attempt.success ? 'success' : 'failure'}`}>
      <details open={open}>
        <summary>
          <strong>Attempt {number}</strong> <Badge value={attempt.success ? 'succeeded' : 'failed'} />{' '}
          <span class="status-code">{attempt.response_status_code || 'no response'}</span> · {attempt.execution_duration} ms · <Time at={attempt.created_at} />
          {attempt.error && <span class="attempt-error"> · {attempt.error}</span>}
        </summary>
        <div class="dumps">
          <div>
            <h3>Request</h3>
            <pre class="head">{request.head}</pre>
            {request.body && <pre class="body">{request.body}</pre>}
            {eventData(request.body) !== undefined && (
              <>
                <h3>Event data (decoded from data_base64)</h3>
                <pre class="body" data-testid="event-data">
                  {eventData(request.body)}
                </pre>
              </>
            )}
          </div>
          <div>
            <h3>Response</h3>
            {attempt.response ? (
              <>
                <pre class="head">{response.head}</pre>
                {response.body && (
                  <pre class="body" data-testid="response-body">
                    {response.body}
                  </pre>
                )}
              </>
            ) : (
              <p>No response{attempt.error ? `: ${attempt.error}` : ''}.</p>
            )}
          </div>
        </div>
      </details>
    </li>
  );
}
