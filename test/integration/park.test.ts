// The park statement's outcomes (store/delivery-policy.ts parkDeliveries), on a real database.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'slonik';
import { parkDeliveries } from '../../src/store/delivery-policy.ts';
import { publishMessage } from '../../src/store/messages.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { newId } from '../helpers/fixtures.ts';

const { pool } = await createTestDatabase();
await pool.query(sql.unsafe`insert into topics (id, name) values ('t', 'T')`);
await pool.query(sql.unsafe`
  insert into subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
  values ('s', 't', 'S', 'http://127.0.0.1:9', 'secret', 3, 1, 1)`);

async function pendingDelivery() {
  const { deliveryIds } = await publishMessage(pool, { id: newId(), topic_id: 't', content_type: 'text/plain', data: 'aGk=' });
  return deliveryIds[0]!;
}
const setStatus = (status: string, breaker = 'closed', probe: string | null = null) =>
  pool.query(sql.unsafe`update subscriptions set status = ${status}, breaker_state = ${breaker}, breaker_probe_delivery_id = ${probe}`);
const parked = async (id: string) => (await pool.oneFirst(sql.unsafe`select parked from deliveries where id = ${id}`)) as boolean;

test('a delivery whose subscription still may not go is parked; one that may go now is not (may_go)', async () => {
  const id = await pendingDelivery();
  await setStatus('disabled');
  assert.deepEqual(await parkDeliveries(pool, [{ delivery_id: id, attempt: 1, blocked: true }]), ['parked']);
  assert.equal(await parked(id), true);

  // Loaded while the subscription was disabled, parked after it became active again.
  await setStatus('active');
  const other = await pendingDelivery();
  assert.deepEqual(await parkDeliveries(pool, [{ delivery_id: other, attempt: 1, blocked: true }]), ['may_go']);
  assert.equal(await parked(other), false);
});

test("a breaker's probe is never parked as blocked; others are while it probes", async () => {
  const probe = await pendingDelivery();
  const other = await pendingDelivery();
  await setStatus('active', 'probing', probe);
  assert.deepEqual(
    await parkDeliveries(pool, [
      { delivery_id: probe, attempt: 1, blocked: true },
      { delivery_id: other, attempt: 1, blocked: true },
    ]),
    ['may_go', 'parked'],
  );
  await setStatus('active');
});

test('over its in-flight limit a delivery is parked whatever the status; a stale job (another attempt) changes nothing', async () => {
  const id = await pendingDelivery();
  assert.deepEqual(await parkDeliveries(pool, [{ delivery_id: id, attempt: 1, blocked: false }]), ['parked']);
  const stale = await pendingDelivery();
  assert.deepEqual(await parkDeliveries(pool, [{ delivery_id: stale, attempt: 2, blocked: false }]), ['moved_on']);
  assert.equal(await parked(stale), false);
});
