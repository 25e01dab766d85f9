/**
 * Module boundaries (DEVELOPERS.md, ARCHITECTURE.md):
 *   gateway → pipeline → rules → core ← connectors
 *   worker  → pipeline (the distributed mode's background role; never the edge)
 * Only the composition roots (gateway/start.ts, gateway/rules-thread.ts (the single process's rules
 * thread), worker/start.ts, and the process entries) wire connectors in.
 */
module.exports = {
  // Tests may wire real adapters (tests talk to real things); production code may not.
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-kernel',
      comment: 'core imports nothing of ours',
      severity: 'error',
      from: { path: '^core/', pathNot: '\\.(test|contract)\\.ts$' },
      to: { path: '^(gateway|worker|pipeline|rules|connectors|dashboards|simulators|benchmarks|cli)/' },
    },
    {
      name: 'rules-are-pure',
      comment: 'rules depend only on core',
      severity: 'error',
      from: { path: '^rules/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(gateway|worker|pipeline|connectors|dashboards|simulators|benchmarks|cli)/' },
    },
    {
      name: 'pipeline-below-gateway',
      severity: 'error',
      from: { path: '^pipeline/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(gateway|worker|connectors|dashboards|simulators|benchmarks|cli)/' },
    },
    {
      name: 'connectors-implement-core-ports',
      severity: 'error',
      from: { path: '^connectors/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(gateway|worker|pipeline|rules|dashboards|simulators|benchmarks|cli)/' },
    },
    {
      name: 'only-the-composition-root-wires-connectors',
      severity: 'error',
      from: { path: '^(gateway|worker|pipeline|rules|core|dashboards|cli)/', pathNot: ['^gateway/(start|process|rules-thread)\\.ts$', '^worker/(start|process)\\.ts$', '\\.test\\.ts$'] },
      to: { path: '^connectors/' },
    },
    {
      name: 'roles-apart',
      comment: 'the edge (gateway/) and the background role (worker/) share pipeline/, never each other',
      severity: 'error',
      from: { path: '^worker/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(gateway|dashboards|simulators|benchmarks|cli)/' },
    },
    {
      name: 'the-edge-is-not-a-worker',
      severity: 'error',
      from: { path: '^gateway/', pathNot: '\\.test\\.ts$' },
      to: { path: '^worker/' },
    },
    {
      name: 'simulators-are-devices',
      comment: 'simulated devices know only the wire format (core); they reach the gateway over HTTP and MQTT like real ones',
      severity: 'error',
      from: { path: '^simulators/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(gateway|pipeline|rules|connectors|dashboards|benchmarks|cli)/' },
    },
    {
      name: 'cli-speaks-http',
      comment: 'the CLI administers a running gateway over its HTTP API',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(gateway|pipeline|rules|connectors)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
