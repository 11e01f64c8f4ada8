// The five list routes over real HTTP and PostgreSQL: limit (default 25, clamped to 50), offset, the
// stable order (created_at, then id: oldest first), every filter, and the 400s for bad list parameters.
// Rows are seeded with SQL at known times (pairs share a created_at, inserted newest first) so order
// and time filters can be checked exactly.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'slonik';
import { startTestApi } from '../helpers/rest.ts';
import {
  assertInvalid,
  assertKeys,
  deliveryAttemptKeys,
  deliveryKeys,
  messageKeys,
  ok,
  says,
  subscriptionKeys,
  topicKeys,
} from '../helpers/rest-api.ts';

const api = await startTestApi();
const rows = 60;
const statuses = ['pending', 'completed', 'failed'] as const;
const two = (i: number) => String(i).padStart(2, '0');

/** Row i of every table is created at 2021-03-18T00:00Z + floor(i / 2) hours: rows 0-47 that day, 48-59 the next. */
const createdAt = (i: number) => new Date(Date.UTC(2021, 2, 18) + Math.floor(i / 2) * 3_600_000).toISOString();

interface Seeded {
  id: string;
  created_at: string;
  [filter: string]: string;
}

const seeded: Record<string, Seeded[]> = {
  topics: [],
  subscriptions: [],
  messages: [],
  deliveries: [],
  delivery_attempts: [],
};
for (let i = 0; i < rows; i++) {
  const created_at = createdAt(i);
  seeded.topics!.push({ id: `t-${two(i)}`, created_at });
  seeded.subscriptions!.push({ id: `s-${two(i)}`, created_at, topic_id: `t-0${i % 2}` });
  seeded.messages!.push({ id: `m-${two(i)}`, created_at, topic_id: `t-0${i % 2}` });
  // Subscriptions s-00 and s-02 are of topic t-00; s-01 and s-03 of t-01.
  seeded.deliveries!.push({
    id: `d-${two(i)}`,
    created_at,
    topic_id: `t-0${i % 2}`,
    subscription_id: `s-0${i % 4}`,
    // One delivery per (message, subscription), as the schema requires: 4 x 15 pairs for 60 rows.
    message_id: `m-${two(i % 15)}`,
    status: statuses[i % 3]!,
  });
  seeded.delivery_attempts!.push({ id: `a-${two(i)}`, created_at, delivery_id: `d-0${i % 4}` });
}

before(async () => {
  // Newest first, so the order of insertion is the reverse of the order the lists must give.
  await api.pool.transaction(async (tx) => {
    for (let i = rows - 1; i >= 0; i--) {
      const t = seeded.topics![i]!;
      await tx.query(sql.unsafe`insert into topics (id, name, created_at, updated_at) values (${t.id}, 'Topic', ${t.created_at}, ${t.created_at})`);
    }
    for (let i = rows - 1; i >= 0; i--) {
      const s = seeded.subscriptions![i]!;
      await tx.query(sql.unsafe`
        insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, created_at, updated_at)
        values (${s.id}, ${s.topic_id!}, 'S', 'http://127.0.0.1:9/', 'secret', 3, 1, 1, ${s.created_at}, ${s.created_at})`);
      const m = seeded.messages![i]!;
      await tx.query(sql.unsafe`
        insert into messages (id, topic_id, content_type, data, created_at) values (${m.id}, ${m.topic_id!}, 'text/plain', 'eA==', ${m.created_at})`);
    }
    for (let i = rows - 1; i >= 0; i--) {
      const d = seeded.deliveries![i]!;
      await tx.query(sql.unsafe`
        insert into deliveries (id, topic_id, subscription_id, message_id, content_type, url, secret_token,
          max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, status, created_at, updated_at)
        values (${d.id}, ${d.topic_id!}, ${d.subscription_id!}, ${d.message_id!}, 'text/plain', 'http://127.0.0.1:9/', 'secret',
          3, 1, 1, ${d.created_at}, ${d.status!}, ${d.created_at}, ${d.created_at})`);
    }
    for (let i = rows - 1; i >= 0; i--) {
      const a = seeded.delivery_attempts![i]!;
      await tx.query(sql.unsafe`
        insert into delivery_attempts (id, delivery_id, request, response, response_status_code, execution_duration, success, error, created_at)
        values (${a.id}, ${a.delivery_id!}, 'POST / HTTP/1.1', 'HTTP/1.1 200 OK', 200, 5, true, '', ${a.created_at})`);
    }
  });
});

const lists = [
  { path: '/v1/topics', key: 'topics', keys: topicKeys },
  { path: '/v1/subscriptions', key: 'subscriptions', keys: subscriptionKeys },
  { path: '/v1/messages', key: 'messages', keys: messageKeys },
  { path: '/v1/deliveries', key: 'deliveries', keys: deliveryKeys },
  { path: '/v1/delivery-attempts', key: 'delivery_attempts', keys: deliveryAttemptKeys },
] as const;

/** The ids a list answers with, after checking the answer's shape. */
async function listIds(list: (typeof lists)[number], query = ''): Promise<string[]> {
  const body = ok(await api.call('GET', `${list.path}${query ? `?${query}` : ''}`));
  assertKeys(body, [list.key]);
  const items = body[list.key] as Record<string, unknown>[];
  for (const item of items) assertKeys(item, list.keys);
  return items.map((item) => item.id as string);
}

/** The seeded ids of a table that pass `keep`, in the order every list must use. */
const expected = (table: string, keep: (row: Seeded, i: number) => boolean = () => true) =>
  seeded[table]!.filter((row, i) => keep(row, i)).map((row) => row.id);

for (const list of lists) {
  test(`GET ${list.path}: 25 by default, limit clamped to 50, offset, oldest first with ties broken by id`, async () => {
    const all = expected(list.key);
    assert.deepEqual(await listIds(list), all.slice(0, 25), 'no limit: the first 25');
    assert.deepEqual(await listIds(list, 'limit=0'), all.slice(0, 25), 'limit=0 means the default');
    assert.deepEqual(await listIds(list, 'limit=1'), all.slice(0, 1));
    assert.deepEqual(await listIds(list, 'limit=10'), all.slice(0, 10));
    assert.deepEqual(await listIds(list, 'limit=50'), all.slice(0, 50));
    for (const limit of [51, 1000, 4_294_967_295]) {
      assert.deepEqual(await listIds(list, `limit=${limit}`), all.slice(0, 50), `limit=${limit} is clamped to 50`);
    }
    assert.deepEqual(await listIds(list, 'offset=50'), all.slice(50), 'offset with the default limit');
    assert.deepEqual(await listIds(list, 'offset=59&limit=5'), all.slice(59));
    assert.deepEqual(await listIds(list, 'offset=60'), []);
    assert.deepEqual(await listIds(list, 'offset=4294967295'), []);

    const walked: string[] = [];
    for (let offset = 0; offset < rows + 7; offset += 7) walked.push(...(await listIds(list, `limit=7&offset=${offset}`)));
    assert.deepEqual(walked, all, 'pages of 7 put together give every row once, in order');
  });

  test(`GET ${list.path}: created_at_gt|gte|lt|lte with RFC 3339 times and dates`, async () => {
    const at = (i: number) => Date.parse(createdAt(i));
    const t10 = at(10); // rows 10 and 11: 2021-03-18T05:00:00Z
    const ids = (query: string) => listIds(list, `limit=50&${query}`);
    const within = (keep: (time: number) => boolean) => expected(list.key, (row) => keep(Date.parse(row.created_at))).slice(0, 50);

    assert.deepEqual(await ids('created_at_gt=2021-03-18T05:00:00Z'), within((t) => t > t10));
    assert.deepEqual(await ids('created_at_gte=2021-03-18T05:00:00Z'), within((t) => t >= t10));
    assert.deepEqual(await ids('created_at_lt=2021-03-18T05:00:00Z'), within((t) => t < t10));
    assert.deepEqual(await ids('created_at_lte=2021-03-18T05:00:00Z'), within((t) => t <= t10));
    // The same instant written other ways: fraction, offsets (a '+' must be percent-encoded in a query), lower case, a space.
    for (const same of ['2021-03-18T05:00:00.000Z', '2021-03-18T02:00:00-03:00', '2021-03-18T10:30:00%2B05:30', '2021-03-18t05:00:00z', '2021-03-18%2005:00:00Z']) {
      assert.deepEqual(await ids(`created_at_lte=${same}`), within((t) => t <= t10), same);
    }
    // A date is midnight UTC.
    const day2 = Date.UTC(2021, 2, 19);
    assert.deepEqual(await ids('created_at_gte=2021-03-19'), within((t) => t >= day2));
    assert.deepEqual(await ids('created_at_lt=2021-03-19'), within((t) => t < day2));
    assert.deepEqual(await ids('created_at_lte=2021-03-18'), within((t) => t <= at(0)), 'only the rows made at midnight');
    assert.deepEqual(await ids('created_at_gt=2021-03-18'), within((t) => t > at(0)));
    // Filters are ANDed; an empty one is no filter.
    assert.deepEqual(
      await ids('created_at_gte=2021-03-18T05:00:00Z&created_at_lt=2021-03-18T08:00:00Z'),
      within((t) => t >= t10 && t < at(16)),
    );
    assert.deepEqual(await ids('created_at_gt=&created_at_gte=&created_at_lt=&created_at_lte='), within(() => true));
    assert.deepEqual(await ids('created_at_gt=2022-01-01'), []);
    assert.deepEqual(await listIds(list, 'created_at_gte=2021-03-18T20:00:00Z&limit=3&offset=2'), within((t) => t >= at(40)).slice(2, 5));
  });

  test(`GET ${list.path}: a bad created_at_*, limit or offset is 400 naming the parameter`, async () => {
    for (const parameter of ['created_at_gt', 'created_at_gte', 'created_at_lt', 'created_at_lte']) {
      for (const value of ['yesterday', 'now', '2021-02-30', '2021-13-01', '2021-03-18T25:00:00Z', '2021-03-18T11:10:29', '0000-01-01', '18/03/2021', '1616065829']) {
        assertInvalid(await api.call('GET', `${list.path}?${parameter}=${encodeURIComponent(value)}`), 'invalid_list_parameters', { [parameter]: says.timestamp });
      }
    }
    for (const parameter of ['limit', 'offset']) {
      assertInvalid(await api.call('GET', `${list.path}?${parameter}=-1`), 'invalid_list_parameters', { [parameter]: 'must be no less than 0' });
      assertInvalid(await api.call('GET', `${list.path}?${parameter}=4294967296`), 'invalid_list_parameters', { [parameter]: 'must be no greater than 4294967295' });
      assertInvalid(await api.call('GET', `${list.path}?${parameter}=99999999999999999999`), 'invalid_list_parameters', { [parameter]: 'must be no greater than 4294967295' });
      for (const value of ['abc', '1.5', '']) {
        assertInvalid(await api.call('GET', `${list.path}?${parameter}=${value}`), 'invalid_list_parameters', { [parameter]: /./ });
      }
    }
    assertInvalid(await api.call('GET', `${list.path}?limit=-5&created_at_gt=soon`), 'invalid_list_parameters', {
      limit: 'must be no less than 0',
      created_at_gt: says.timestamp,
    });
  });
}

test('GET /v1/messages?topic_id= filters by topic; empty is no filter', async () => {
  const messages = lists[2];
  assert.deepEqual(await listIds(messages, 'topic_id=t-01&limit=50'), expected('messages', (m) => m.topic_id === 't-01'));
  assert.deepEqual(await listIds(messages, 'topic_id=t-00&limit=5&offset=5'), expected('messages', (m) => m.topic_id === 't-00').slice(5, 10));
  assert.deepEqual(await listIds(messages, 'topic_id='), expected('messages').slice(0, 25));
  assert.deepEqual(await listIds(messages, 'topic_id=t-02'), [], 'a topic without messages');
  assert.deepEqual(await listIds(messages, `topic_id=${'x'.repeat(255)}`), []);
  assertInvalid(await api.call('GET', `/v1/messages?topic_id=${'x'.repeat(256)}`), 'invalid_list_parameters', { topic_id: says.tooLong(255) });
});

test('GET /v1/deliveries filters by topic_id, subscription_id, message_id and status, ANDed', async () => {
  const deliveries = lists[3];
  const match = (filters: Record<string, string>) => expected('deliveries', (d) => Object.entries(filters).every(([k, v]) => d[k] === v));
  const cases: Record<string, string>[] = [
    { topic_id: 't-01' },
    { subscription_id: 's-02' },
    { message_id: 'm-03' },
    { status: 'pending' },
    { status: 'completed' },
    { status: 'failed' },
    { topic_id: 't-00', status: 'failed' },
    { subscription_id: 's-01', message_id: 'm-01' },
    { topic_id: 't-00', subscription_id: 's-00', message_id: 'm-00', status: 'pending' },
    { topic_id: 't-00', subscription_id: 's-01' },
  ];
  for (const filters of cases) {
    const query = new URLSearchParams({ ...filters, limit: '50' }).toString();
    assert.deepEqual(await listIds(deliveries, query), match(filters), query);
  }
  assert.deepEqual(await listIds(deliveries, 'status=completed&limit=3&offset=3'), match({ status: 'completed' }).slice(3, 6));
  assert.deepEqual(await listIds(deliveries, 'topic_id=&subscription_id=&message_id='), expected('deliveries').slice(0, 25), 'empty filters are no filter');
  assertInvalid(await api.call('GET', '/v1/deliveries?status=sent'), 'invalid_list_parameters', { status: says.status });
  assertInvalid(await api.call('GET', '/v1/deliveries?status=PENDING&topic_id=t-00'), 'invalid_list_parameters', { status: says.status });
});

test('GET /v1/delivery-attempts filters by delivery_id', async () => {
  const attempts = lists[4];
  assert.deepEqual(await listIds(attempts, 'delivery_id=d-03'), expected('delivery_attempts', (a) => a.delivery_id === 'd-03'));
  assert.deepEqual(await listIds(attempts, 'delivery_id=d-00&limit=2&offset=1'), expected('delivery_attempts', (a) => a.delivery_id === 'd-00').slice(1, 3));
  assert.deepEqual(await listIds(attempts, 'delivery_id=d-59'), []);
  assert.deepEqual(await listIds(attempts, 'delivery_id='), expected('delivery_attempts').slice(0, 25));
});

test('filters a list does not take are refused, naming them', async () => {
  assertInvalid(await api.call('GET', '/v1/topics?topic_id=t-00'), 'invalid_list_parameters', { topic_id: /Unknown query parameter/ });
  assertInvalid(await api.call('GET', '/v1/subscriptions?topic_id=t-00'), 'invalid_list_parameters', { topic_id: /Unknown query parameter/ });
  assertInvalid(await api.call('GET', '/v1/messages?status=pending'), 'invalid_list_parameters', { status: /Unknown query parameter/ });
  assertInvalid(await api.call('GET', '/v1/delivery-attempts?created_at__gt=2021-03-18'), 'invalid_list_parameters', { created_at__gt: /Unknown query parameter/ });
});
