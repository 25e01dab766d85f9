// Source-mode entry of the writer thread (tests, `node --import tsx`): register tsx in this
// thread, then load the TypeScript worker. Compiled builds load writer-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./writer-worker.ts');
