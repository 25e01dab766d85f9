import { describeTracing } from './tracing-suite.js';

describeTracing({ rulesThread: false });
