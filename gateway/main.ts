import { fatal } from '../core/process-runner.js';
import { runGatewayProcess } from './process.js';

/** Process entry point of the single process: `npm start`. */
runGatewayProcess('all').catch(fatal);
