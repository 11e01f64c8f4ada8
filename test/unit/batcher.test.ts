// The micro-batcher behind the delivery task's loads and records.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBatcher } from '../../src/batcher.ts';

test('calls made together share one batch; a full batch goes at once', async () => {
  const batches: number[][] = [];
  const double = createBatcher(async (items: number[]) => (batches.push(items), items.map((n) => n * 2)), { maxSize: 3, maxWaitMs: 1000 });
  const started = Date.now();
  assert.deepEqual(await Promise.all([double(1), double(2), double(3)]), [2, 4, 6]);
  assert.ok(Date.now() - started < 500, 'a full batch does not wait');
  assert.deepEqual(batches, [[1, 2, 3]]);
});

test('a partial batch goes after maxWaitMs', async () => {
  const batches: string[][] = [];
  const echo = createBatcher(async (items: string[]) => (batches.push(items), items), { maxSize: 10, maxWaitMs: 20 });
  const first = echo('a');
  await sleep(5);
  const second = echo('b');
  assert.deepEqual(await Promise.all([first, second]), ['a', 'b']);
  assert.deepEqual(batches, [['a', 'b']]);
  assert.equal(await echo('c'), 'c');
  assert.deepEqual(batches, [['a', 'b'], ['c']]);
});

test('a failing batch fails every call in it, and the next batch works', async () => {
  let fail = true;
  const run = createBatcher(
    async (items: number[]) => {
      if (fail) throw new Error('database down');
      return items;
    },
    { maxSize: 2, maxWaitMs: 5 },
  );
  const results = await Promise.allSettled([run(1), run(2)]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  fail = false;
  assert.equal(await run(3), 3);
});
