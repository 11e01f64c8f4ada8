// Runs the `hammer` CLI as a separate process, as a user would, and reads its JSON log lines.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { join } from 'node:path';
import { promisify } from 'node:util';

const cli = join(import.meta.dirname, '../../src/cli.ts');

export interface HammerProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  /** Everything written to stderr. */
  stderr: () => string;
  /** Resolves with the first log line whose msg is `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** Starts `hammer <args>` with the test's environment; ports default to 0 (random) so processes never collide. */
export function startHammer(args: string[], env: Record<string, string>): HammerProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HAMMER_HTTP_PORT: '0',
      HAMMER_GRPC_PORT: '0',
      HAMMER_METRICS_PORT: '0',
      HAMMER_HEALTH_CHECK_PORT: '0',
      HAMMER_HOST: '127.0.0.1',
      HAMMER_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const text of lines) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      logs.push(line);
      for (const waiter of waiters.filter((w) => w.msg === line.msg)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(msg, timeoutMs = 15_000) {
      const seen = logs.find((line) => line.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${msg}" log within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ msg, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then((code) => reject(new Error(`hammer exited (${code}) before logging "${msg}"; stderr: ${stderr}`)));
      });
    },
  };
}

/** Runs `hammer <args>` to completion (log level info unless `env` says otherwise). */
export async function runHammer(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', HAMMER_LOG_LEVEL: 'info', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
