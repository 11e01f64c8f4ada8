// A closed-loop HTTP load generator on undici.request: `concurrency` loops, each sending its next
// request (POST by default) as soon as the previous one is answered, for a duration or a number of requests.
import { Agent, request } from 'undici';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `values` (ms). */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]! };
}

export interface LoadOptions {
  /** The url, or the url of request `i`. */
  url: string | ((i: number) => string);
  method?: 'GET' | 'POST';
  concurrency: number;
  /** Stop starting requests after this many ms... */
  durationMs?: number;
  /** ...or after this many requests. */
  count?: number;
  headers: Record<string, string>;
  /** The body of request `i` (none for a GET). */
  body?: (i: number) => string;
  /** Called with each answer's status and body text. */
  onResponse?: (status: number, body: string) => void;
}

export interface LoadResult {
  requests: number;
  /** Answers other than 2xx, and transport errors. */
  errors: number;
  firstError?: string;
  seconds: number;
  perSecond: number;
  latencyMs: Percentiles;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ connections: options.concurrency, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const begin = performance.now();
  const more = () =>
    options.count !== undefined ? started < options.count : performance.now() - begin < (options.durationMs ?? 0);

  async function loop(): Promise<void> {
    while (more()) {
      const i = started++;
      const sent = performance.now();
      try {
        const url = typeof options.url === 'string' ? options.url : options.url(i);
        const method = options.method ?? 'POST';
        const response = await request(url, { method, headers: options.headers, body: method === 'GET' ? undefined : options.body?.(i), dispatcher: agent });
        const text = await response.body.text();
        latencies.push(performance.now() - sent);
        if (response.statusCode < 200 || response.statusCode > 299) {
          errors++;
          firstError ??= `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
        }
        options.onResponse?.(response.statusCode, text);
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const seconds = (performance.now() - begin) / 1000;
  await agent.close();
  return { requests: latencies.length, errors, firstError, seconds, perSecond: latencies.length / seconds, latencyMs: percentiles(latencies) };
}
