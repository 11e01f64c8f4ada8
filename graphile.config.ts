// Lets the plain graphile-worker CLI (`npx graphile-worker`) run hammer's delivery task against
// HAMMER_DATABASE_URL with the same settings as `hammer worker`. `hammer worker` is the supported way;
// this is for operators who already run graphile-worker's CLI.
import type {} from 'graphile-worker';
import { loadConfig, loadDotEnv } from './src/config.ts';
import { workerPreset } from './src/delivery/worker.ts';

loadDotEnv();
const config = loadConfig();

const preset: GraphileConfig.Preset = {
  worker: {
    ...workerPreset({ concurrency: config.workerConcurrency, pollInterval: config.workerDatabaseDelay }).worker,
    connectionString: config.databaseUrl,
    maxPoolSize: config.workerConcurrency,
    taskDirectory: `${import.meta.dirname}/src/delivery/graphile-tasks`,
    crontabFile: `${import.meta.dirname}/src/delivery/graphile-tasks/no-crontab`,
  },
};

export default preset;
