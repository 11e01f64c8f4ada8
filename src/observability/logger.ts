// Structured JSON logs (pino), one line per event, with hammer's event names as the message
// (`worker-started`, `worker-delivery-attempt-created`, ...).
import { pino, type Logger } from 'pino';
import { Logger as GraphileLogger, type LogLevel as GraphileLevel } from 'graphile-worker';

export type { Logger };

export function createLogger(level: string, destination: pino.DestinationStream = pino.destination({ sync: false })): Logger {
  return pino({ level, base: { service: 'hammer' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

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
    logger[target]({ scope: 'graphile-worker', ...scope, ...meta }, message);
  });
}
