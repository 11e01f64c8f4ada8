// The `hammer_expire_idempotency_keys` task for the plain graphile-worker CLI: hammer's own (see deliver.ts).
import { hammerTask } from './deliver.ts';

export default hammerTask('hammer_expire_idempotency_keys');
