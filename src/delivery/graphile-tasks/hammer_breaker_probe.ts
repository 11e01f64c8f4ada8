// The `hammer_breaker_probe` task for the plain graphile-worker CLI: hammer's own (see deliver.ts).
import { hammerTask } from './deliver.ts';

export default hammerTask('hammer_breaker_probe');
