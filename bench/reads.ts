// Run 10, reads: a `hammer server` of its own (so its peak RSS is the reads' alone), 32 clients
// reading for the steady-state duration, each request in turn a topic, a message, or a page of 50
// deliveries of that topic. Reports requests per second, latency, and the server's RSS idle and at peak.
import { startServer, type Cluster } from './cluster.ts';
import { createTopic, publishThroughStore, resetDatabase } from './db.ts';
import { runLoad, type LoadResult } from './load.ts';
import { sleep } from './processes.ts';
import { peakRssMiB, rssMiB } from './procstat.ts';

export interface ReadsResult extends LoadResult {
  clients: number;
  /** The fresh server's RSS after it started and settled, before any request. */
  serverIdleRssMiB: number;
  /** Its peak RSS (VmHWM) after the reads. */
  serverPeakRssMiB: number;
}

export async function reads(cluster: Cluster, options: { durationS: number; clients: number; messages: number }): Promise<ReadsResult> {
  await resetDatabase(cluster.db);
  const topicId = 'reads';
  await createTopic(cluster.db, topicId, 1, cluster.receiver.origin);
  await publishThroughStore(cluster.db, topicId, options.messages, 16);
  const ids = (await cluster.db.pg.query<{ id: string }>('select id from messages where topic_id = $1 order by id', [topicId])).rows.map((r) => r.id);

  const server = await startServer(cluster, 'reads-server', {});
  try {
    await sleep(1000);
    const serverIdleRssMiB = rssMiB(server.process.pid) ?? NaN;
    const paths = [
      () => `/v1/topics/${topicId}`,
      (i: number) => `/v1/messages/${ids[i % ids.length]}`,
      () => `/v1/deliveries?topic_id=${topicId}&limit=50`,
    ];
    const load = await runLoad({
      url: (i) => `${server.origin}${paths[i % paths.length]!(Math.floor(i / paths.length))}`,
      method: 'GET',
      concurrency: options.clients,
      headers: {},
      durationMs: options.durationS * 1000,
    });
    if (load.errors > 0) throw new Error(`reads: ${load.errors} requests failed, first: ${load.firstError}`);
    return { ...load, clients: options.clients, serverIdleRssMiB, serverPeakRssMiB: peakRssMiB(server.process.pid) ?? NaN };
  } finally {
    await server.process.stop();
  }
}
