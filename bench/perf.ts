// With --profile, where PostgreSQL spends its CPU: `perf record` on the postmaster and every backend
// it forks, during the first drain, then the top symbols by self time. Skipped (with a note) when
// perf is missing or not permitted.
import { execFileSync, spawn } from 'node:child_process';

export interface PerfSymbol {
  share: number;
  dso: string;
  symbol: string;
}

/** Inclusive share of PostgreSQL's samples spent in (under) a function: where the time goes, by phase. */
export interface PerfPhase {
  share: number;
  phase: string;
  symbol: string;
}

export interface PerfReport {
  /** By self time. */
  symbols: PerfSymbol[];
  phases: PerfPhase[];
}

export interface PerfRecording {
  stop(): Promise<PerfReport>;
}

/** PostgreSQL functions that mark a phase of running a statement (inclusive time), in reading order. */
const phases: [string, string][] = [
  ['PostgresMain', 'all work in backends'],
  ['exec_simple_query', 'simple-protocol statements'],
  ['exec_parse_message', 'extended protocol: Parse'],
  ['exec_bind_message', 'extended protocol: Bind (incl. planning of unnamed statements)'],
  ['exec_execute_message', 'extended protocol: Execute'],
  ['raw_parser', 'SQL parsing'],
  ['parse_analyze_fixedparams', 'parse analysis'],
  ['parse_analyze_varparams', 'parse analysis (untyped parameters)'],
  ['pg_rewrite_query', 'rewriting'],
  ['pg_plan_queries', 'planning'],
  ['standard_ExecutorStart', 'executor start-up'],
  ['standard_ExecutorRun', 'executor run'],
  ['standard_ExecutorEnd', 'executor shutdown'],
  ['ExecConstraints', 'CHECK / NOT NULL constraints'],
  ['ExecInsertIndexTuples', 'index inserts'],
  ['heap_update', 'heap update'],
  ['heap_insert', 'heap insert'],
  ['RI_FKey_check', 'foreign-key checks'],
  ['AfterTriggerEndQuery', 'after triggers (foreign keys)'],
  ['plpgsql_call_handler', 'PL/pgSQL functions (graphile-worker)'],
  ['CommitTransaction', 'commit'],
  ['pq_getbyte', 'reading from the client'],
  ['socket_flush', 'writing to the client'],
  ['pgss_ExecutorEnd', 'pg_stat_statements bookkeeping (profile mode only)'],
  ['do_autovacuum', 'autovacuum'],
];

function perfAvailable(): boolean {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Samples `pid` and the processes it forks from now on; undefined when perf cannot run. */
export function recordPerf(pid: number, file: string): PerfRecording | undefined {
  if (!perfAvailable()) return undefined;
  // PostgreSQL is built without frame pointers: unwind with DWARF (bigger files, so a lower rate).
  const perf = spawn('perf', ['record', '-F', '99', '--call-graph', 'dwarf,16384', '-p', String(pid), '-o', file], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => perf.on('exit', (code) => resolve(code)));
  return {
    async stop() {
      perf.kill('SIGINT');
      await exited;
      const report = (args: string[]) => {
        try {
          return execFileSync('perf', ['report', '-i', file, '--stdio', '-g', 'none', ...args], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
            maxBuffer: 256 * 1024 * 1024,
          });
        } catch {
          return '';
        }
      };
      const symbols: PerfSymbol[] = [];
      for (const line of report(['--no-children', '--sort', 'dso,symbol', '--percent-limit', '0.7']).split('\n')) {
        const match = /^\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.+?)\s*$/.exec(line);
        // perf may append empty columns ("-") after the symbol.
        if (match) symbols.push({ share: Number(match[1]) / 100, dso: match[2]!, symbol: match[3]!.replace(/(\s+-)+$/, '') });
      }
      const inclusive = new Map<string, number>();
      for (const line of report(['--children', '--sort', 'symbol', '--percent-limit', '0.3']).split('\n')) {
        const match = /^\s+([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(\S+)/.exec(line);
        if (match && !inclusive.has(match[2]!)) inclusive.set(match[2]!, Number(match[1]) / 100);
      }
      const found = phases.filter(([symbol]) => inclusive.has(symbol)).map(([symbol, phase]) => ({ share: inclusive.get(symbol)!, phase, symbol }));
      return { symbols, phases: found };
    },
  };
}
