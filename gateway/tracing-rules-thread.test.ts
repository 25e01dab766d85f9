import { describeTracing } from '../test/tracing-suite.js';

// The rules' spans are recorded in the rules thread and exported by the main thread's exporter.
describeTracing({ rulesThread: true });
