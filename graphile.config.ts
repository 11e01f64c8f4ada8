// Lets the plain graphile-worker CLI (`npx graphile-worker`) run hammer's delivery task against
// HAMMER_DATABASE_URL with the same settings as `hammer worker`. `hammer worker` is the supported way;
// this is for operators who already run graphile-worker's CLI.
import { EventEmitter } from 'node:events';
import type { WorkerEvents } from 'graphile-worker';
import { loadConfig, loadDotEnv } from './src/config.ts';
import { releaseDeliverTask } from './src/delivery/graphile-tasks/deliver.ts';
import { workerPreset } from './src/delivery/worker.ts';

loadDotEnv();
const config = loadConfig();

// The task's own pool and HTTP agent are closed when the worker pool is released: otherwise they
// keep the process alive and the CLI exits 1 ("Worker failed to exit naturally").
const events: WorkerEvents = new EventEmitter();
events.on('pool:release', () => {
  releaseDeliverTask().catch((error: unknown) => console.error('hammer: releasing the deliver task failed:', error));
});

const preset: GraphileConfig.Preset = {
  worker: {
    ...workerPreset({ concurrency: config.workerConcurrency, pollInterval: config.workerDatabaseDelay }).worker,
    connectionString: config.databaseUrl,
    maxPoolSize: config.workerConcurrency,
    taskDirectory: `${import.meta.dirname}/src/delivery/graphile-tasks`,
    // The recurring maintenance, as `hammer worker` schedules it.
    crontabFile: `${import.meta.dirname}/src/delivery/crontab`,
    events,
  },
};

export default preset;
