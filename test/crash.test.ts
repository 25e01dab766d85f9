import { describeCrashUnderLoad } from './helpers/crash-under-load.js';

/** The embedded default: SQLite files in the data directory, which survives the kills. */
describeCrashUnderLoad('crash safety (SIGKILL under load)', async () => ({ env: {}, dispose: async () => {} }));
