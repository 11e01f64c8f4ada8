// The `hammer_maintain_history` task for the plain graphile-worker CLI: hammer's own (see deliver.ts).
import { hammerTask } from './deliver.ts';

export default hammerTask('hammer_maintain_history');
