// The `hammer_validate_subscription` task for the plain graphile-worker CLI: hammer's own (see deliver.ts).
import { hammerTask } from './deliver.ts';

export default hammerTask('hammer_validate_subscription');
