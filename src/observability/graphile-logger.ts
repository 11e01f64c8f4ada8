// graphile-worker's logger writing through hammer's (pino), in a module of its own: importing
// graphile-worker loads pg, cosmiconfig and more, which only the commands that run it need (worker,
// migrate), not the server or `hammer keys`.
import { Logger as GraphileLogger, type LogLevel as GraphileLevel } from 'graphile-worker';
import type { Logger } from './logger.ts';

const levels: Record<GraphileLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
};

/** graphile-worker's logger, writing through ours; its chatty info lines go to debug. */
export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    // With a local queue, workers share the pool's few connections: this warning does not apply.
    if (message.startsWith('WARNING: having maxPoolSize')) return;
    const target = level === 'info' ? 'debug' : levels[level];
    // graphile-worker logs every completed job at info: skip building its fields when they'd be dropped.
    if (!logger.isLevelEnabled(target)) return;
    logger[target]({ scope: 'graphile-worker', ...scope, ...meta }, message);
  });
}
