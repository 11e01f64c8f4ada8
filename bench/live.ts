// Runs 2 to 6, through hammer's REST API: steady state (publishing and delivering at once), fan-out
// (one topic, 100 subscriptions), idle latency (publish request sent → webhook received), publish
// throughput with no worker running, and publishing at scale (single publishes with and without
// grouping, against batch publishes).
import { Agent, request } from 'undici';
import { startServer, type Cluster } from './cluster.ts';
import { measureCpu, type CpuUsage } from './cpu.ts';
import { attemptSpan, attemptsBetween, createTopic, deliveryCounts, messageData, resetDatabase } from './db.ts';
import { waitForDeliveries } from './drain.ts';
import { percentiles, runLoad, type LoadResult, type Percentiles } from './load.ts';
import { checkProcesses, sleep, type ManagedProcess } from './processes.ts';

const jsonHeaders = { 'Content-Type': 'application/json' };

function publishBody(topicId: string) {
  return (i: number) => JSON.stringify({ message: { topic_id: topicId, content_type: 'application/json', data: messageData(i) } });
}

function publishLoad(cluster: Cluster, topicId: string, concurrency: number, limit: { durationMs: number } | { count: number }, origin = cluster.server.origin) {
  return runLoad({ url: `${origin}/v1/messages`, concurrency, headers: jsonHeaders, body: publishBody(topicId), ...limit });
}

function failOnErrors(what: string, load: LoadResult): void {
  if (load.errors > 0) throw new Error(`${what}: ${load.errors} publish requests failed, first: ${load.firstError}`);
}

export interface SteadyResult {
  seconds: number;
  publishConcurrency: number;
  published: number;
  publishPerSecond: number;
  publishLatencyMs: Percentiles;
  /** Attempts recorded while the publishers ran. */
  delivered: number;
  deliveredPerSecond: number;
  /** Pending deliveries when the publishers stopped. */
  backlogAtEnd: number;
  /** Time the worker then took to empty the backlog. */
  backlogDrainSeconds: number;
  cpu: CpuUsage;
}

export async function steadyState(cluster: Cluster, options: { durationS: number; publishConcurrency: number; workers: ManagedProcess[] }): Promise<SteadyResult> {
  const topicId = 'steady';
  await createTopic(cluster.db, topicId, 1, cluster.receiver.origin);
  const receivedBefore = await cluster.receiver.count();
  const cpu = measureCpu(cluster, options.workers);
  const from = Date.now();
  const load = await publishLoad(cluster, topicId, options.publishConcurrency, { durationMs: options.durationS * 1000 });
  const to = Date.now();
  const usage = cpu.stop(options.workers);
  failOnErrors('steady state', load);
  const backlogAtEnd = (await deliveryCounts(cluster.db, topicId)).pending;
  const delivered = await attemptsBetween(cluster.db, topicId, from, to);
  const drainStarted = performance.now();
  await waitForDeliveries(cluster, topicId, load.requests, receivedBefore, Math.max(120_000, backlogAtEnd * 20));
  return {
    seconds: (to - from) / 1000,
    publishConcurrency: options.publishConcurrency,
    published: load.requests,
    publishPerSecond: load.perSecond,
    publishLatencyMs: load.latencyMs,
    delivered,
    deliveredPerSecond: delivered / ((to - from) / 1000),
    backlogAtEnd,
    backlogDrainSeconds: (performance.now() - drainStarted) / 1000,
    cpu: usage,
  };
}

export interface FanoutResult {
  subscriptions: number;
  messages: number;
  deliveries: number;
  /** First publish sent to the last delivery completed. */
  seconds: number;
  perSecond: number;
  publishSeconds: number;
  cpu: CpuUsage;
}

export async function fanout(cluster: Cluster, options: { messages: number; publishConcurrency: number; workers: ManagedProcess[] }): Promise<FanoutResult> {
  const topicId = 'fanout';
  const subscriptions = 100;
  await createTopic(cluster.db, topicId, subscriptions, cluster.receiver.origin);
  const deliveries = options.messages * subscriptions;
  const receivedBefore = await cluster.receiver.count();
  const cpu = measureCpu(cluster, options.workers);
  const started = Date.now();
  const load = await publishLoad(cluster, topicId, Math.min(options.publishConcurrency, options.messages), { count: options.messages });
  failOnErrors('fan-out', load);
  await waitForDeliveries(cluster, topicId, deliveries, receivedBefore, Math.max(120_000, deliveries * 20));
  const usage = cpu.stop(options.workers);
  const span = await attemptSpan(cluster.db, topicId);
  const counts = await deliveryCounts(cluster.db, topicId);
  if (counts.completed !== deliveries) throw new Error(`fan-out: ${counts.completed} of ${deliveries} deliveries completed`);
  const seconds = (span.last - started) / 1000;
  return { subscriptions, messages: options.messages, deliveries, seconds, perSecond: deliveries / seconds, publishSeconds: load.seconds, cpu: usage };
}

export interface LatencyResult extends Percentiles {
  samples: number;
  warmup: number;
}

/** Sequential publishes on an idle system: each waits for its webhook to arrive, then a pause. */
export async function latency(cluster: Cluster, options: { count: number; warmup: number }): Promise<LatencyResult> {
  const topicId = 'latency';
  await createTopic(cluster.db, topicId, 1, cluster.receiver.origin);
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  cluster.receiver.onArrival((messageId, at) => {
    const waiter = waiting.get(messageId);
    if (waiter) waiter(at);
    else arrivals.set(messageId, at);
  });
  await cluster.receiver.track(true);
  const agent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < options.warmup + options.count; i++) {
      checkProcesses();
      const sent = performance.timeOrigin + performance.now();
      const response = await request(`${cluster.server.origin}/v1/messages`, { method: 'POST', headers: jsonHeaders, body: publishBody(topicId)(i), dispatcher: agent });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`latency: publish answered ${response.statusCode}: ${text.slice(0, 200)}`);
      const { id } = JSON.parse(text) as { id: string };
      const arrived =
        arrivals.get(id) ??
        (await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`latency: message ${id} not delivered within 30 s`)), 30_000);
          waiting.set(id, (at) => (clearTimeout(timer), resolve(at)));
        }));
      arrivals.delete(id);
      waiting.delete(id);
      if (i >= options.warmup) samples.push(arrived - sent);
      await sleep(20); // the worker records the attempt; the next publish finds it idle
    }
  } finally {
    await agent.close();
    await cluster.receiver.track(false);
  }
  return { samples: samples.length, warmup: options.warmup, ...percentiles(samples) };
}

export interface PublishResult extends LoadResult {
  subscriptions: number;
  concurrency: number;
  cpu: CpuUsage;
}

/** POST /v1/messages as fast as `concurrency` clients can, to a topic with `subscriptions` subscriptions. */
export async function publishThroughput(cluster: Cluster, options: { subscriptions: number; durationS: number; concurrency: number }): Promise<PublishResult> {
  const topicId = `publish-${options.subscriptions}`;
  await createTopic(cluster.db, topicId, options.subscriptions, cluster.receiver.origin);
  await publishLoad(cluster, topicId, options.concurrency, { count: 100 }); // warm-up
  const cpu = measureCpu(cluster);
  const load = await publishLoad(cluster, topicId, options.concurrency, { durationMs: options.durationS * 1000 });
  const usage = cpu.stop();
  failOnErrors(`publish (${options.subscriptions} subscriptions)`, load);
  return { ...load, subscriptions: options.subscriptions, concurrency: options.concurrency, cpu: usage };
}

export interface PublishCell {
  /** `single`: POST /v1/messages, one message each; `batch`: POST /v1/topics/{id}/messages. */
  kind: 'single' | 'batch';
  /** Single publishes: whether the server groups them (HAMMER_PUBLISH_GROUPING). */
  grouping: boolean;
  subscriptions: number;
  concurrency: number;
  /** Messages per request. */
  batchSize: number;
  requests: number;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  latencyMs: Percentiles;
}

export interface PublishScaleResult {
  /** Batch publishes' requests in flight at once. */
  batchConcurrency: number;
  batchSize: number;
  cells: PublishCell[];
}

/**
 * Run 6: for 0, 1 and 10 subscriptions, single publishes at each concurrency, grouped (the cluster's
 * server) and ungrouped (a second server with HAMMER_PUBLISH_GROUPING=false) back to back, then batch
 * publishes of `batchSize` messages. The database is emptied before each subscription count.
 */
export async function publishAtScale(
  cluster: Cluster,
  options: { durationS: number; concurrencies: number[]; batchSize: number; batchConcurrency: number; log: (line: string) => void },
): Promise<PublishScaleResult> {
  const ungrouped = await startServer(cluster, 'server-ungrouped', { HAMMER_PUBLISH_GROUPING: 'false' });
  const cells: PublishCell[] = [];
  const durationMs = options.durationS * 1000;
  try {
    for (const subscriptions of [0, 1, 10]) {
      await resetDatabase(cluster.db);
      const topicId = `scale-${subscriptions}`;
      await createTopic(cluster.db, topicId, subscriptions, cluster.receiver.origin);
      for (const origin of [cluster.server.origin, ungrouped.origin]) await publishLoad(cluster, topicId, 16, { count: 200 }, origin); // warm-up
      for (const concurrency of options.concurrencies) {
        for (const grouping of [true, false]) {
          options.log(`run 6: single publishes, ${subscriptions} subscriptions, c=${concurrency}, grouping ${grouping ? 'on' : 'off'}`);
          const load = await publishLoad(cluster, topicId, concurrency, { durationMs }, grouping ? cluster.server.origin : ungrouped.origin);
          failOnErrors(`run 6 single (${subscriptions} subscriptions, c=${concurrency})`, load);
          cells.push({ kind: 'single', grouping, subscriptions, concurrency, batchSize: 1, requests: load.requests, messages: load.requests, seconds: load.seconds, messagesPerSecond: load.perSecond, latencyMs: load.latencyMs });
        }
      }
      options.log(`run 6: batch publishes of ${options.batchSize}, ${subscriptions} subscriptions, c=${options.batchConcurrency}`);
      const body = (i: number) =>
        JSON.stringify({ messages: Array.from({ length: options.batchSize }, (_, j) => ({ content_type: 'application/json', data: messageData(i * options.batchSize + j) })) });
      const url = `${cluster.server.origin}/v1/topics/${topicId}/messages`;
      await runLoad({ url, concurrency: 1, headers: jsonHeaders, body, count: 1 }); // warm-up
      const load = await runLoad({ url, concurrency: options.batchConcurrency, headers: jsonHeaders, body, durationMs });
      failOnErrors(`run 6 batch (${subscriptions} subscriptions)`, load);
      const messages = load.requests * options.batchSize;
      cells.push({
        kind: 'batch',
        grouping: true,
        subscriptions,
        concurrency: options.batchConcurrency,
        batchSize: options.batchSize,
        requests: load.requests,
        messages,
        seconds: load.seconds,
        messagesPerSecond: messages / load.seconds,
        latencyMs: load.latencyMs,
      });
    }
  } finally {
    await ungrouped.process.stop(30_000);
    await resetDatabase(cluster.db);
  }
  return { batchConcurrency: options.batchConcurrency, batchSize: options.batchSize, cells };
}
