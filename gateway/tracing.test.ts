import { describeTracing } from '../test/tracing-suite.js';

describeTracing({ rulesThread: false });
