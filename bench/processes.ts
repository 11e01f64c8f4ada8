// The benchmark's child processes: each Node process it starts (hammer server and worker, receiver,
// baseline workers and senders), with its output in a log file, its IPC channel, and crash detection.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds } from './procstat.ts';

const running = new Set<ManagedProcess>();
const crashes: Error[] = [];

/** Throws if a process the benchmark started has exited without being asked to. */
export function checkProcesses(): void {
  if (crashes.length > 0) throw crashes[0];
}

/** SIGKILLs every process still running (on a failure or Ctrl-C). */
export function killAll(): void {
  for (const p of running) p.kill();
}

export interface SpawnOptions {
  /** Folder for `<name>.out` and `<name>.err`. */
  logDir: string;
  env?: Record<string, string>;
  /** Flags for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Open an IPC channel (child.send / process.send). */
  ipc?: boolean;
  /** Working folder (hammer reads a .env from it). */
  cwd?: string;
}

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  private stopping = false;
  private readonly outFile: string;
  private readonly errFile: string;

  constructor(name: string, script: string, args: string[], options: SpawnOptions) {
    this.name = name;
    this.outFile = join(options.logDir, `${name}.out`);
    this.errFile = join(options.logDir, `${name}.err`);
    const out = openSync(this.outFile, 'a');
    const err = openSync(this.errFile, 'a');
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', out, err, ...(options.ipc ? (['ipc'] as const) : [])],
    });
    closeSync(out);
    closeSync(err);
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this);
        if (!this.stopping) crashes.push(new Error(`${name} (pid ${this.child.pid}) exited unexpectedly (${code ?? signal}): ${this.stderrTail()}`));
        resolve(code ?? signal ?? -1);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid) ?? NaN;
  }

  stderrTail(lines = 5): string {
    if (!existsSync(this.errFile)) return '';
    return readFileSync(this.errFile, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  }

  /** The first JSON line of stdout whose `msg` is `msg` (hammer's logs), read from the log file. */
  async waitForLog(msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    const fd = openSync(this.outFile, 'r');
    let offset = 0;
    let pending = '';
    const buffer = Buffer.alloc(64 * 1024);
    try {
      while (Date.now() < deadline) {
        checkProcesses();
        let read: number;
        while ((read = readSync(fd, buffer, 0, buffer.length, offset)) > 0) {
          offset += read;
          pending += buffer.subarray(0, read).toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const text of lines) {
            if (!text.includes(msg)) continue;
            try {
              const line = JSON.parse(text) as Record<string, unknown>;
              if (line.msg === msg) return line;
            } catch {}
          }
        }
        await sleep(25);
      }
    } finally {
      closeSync(fd);
    }
    throw new Error(`${this.name}: no "${msg}" log line within ${timeoutMs} ms; stderr: ${this.stderrTail()}`);
  }

  /** The next IPC message that `accept` returns a value for. */
  nextMessage<T>(accept: (message: unknown) => T | undefined, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        const value = accept(message);
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const onExit = () => (done(), reject(new Error(`${this.name} exited before answering; stderr: ${this.stderrTail()}`)));
      const timer = setTimeout(() => (done(), reject(new Error(`${this.name}: no answer within ${timeoutMs} ms`))), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
    });
  }

  /** The process will exit by itself now (e.g. after answering a stop message): that is no crash. */
  expectExit(): void {
    this.stopping = true;
  }

  send(message: unknown): void {
    this.child.send(message as never);
  }

  /** Asks the process to stop (SIGTERM, or `signal`), waits for it, SIGKILLs it after `timeoutMs`. */
  async stop(timeoutMs = 60_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
    this.stopping = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (code !== 'timeout') return code;
    this.kill();
    await this.exited;
    return 'timeout';
  }

  /** SIGKILL, without waiting. */
  kill(): void {
    this.stopping = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
