// Source-mode entry of the rules thread (tests, `node --import tsx`): register tsx in this
// thread, then load the TypeScript entry. Compiled builds load rules-thread.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./rules-thread.ts');
