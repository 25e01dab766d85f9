/** What each scenario compares, with which load and against which target. */

export type SystemName = 'ours' | 'bare-fastify' | 'bare-http' | 'bare-aedes' | 'mosquitto';
export type ScenarioId = 'http-single' | 'http-batch' | 'mqtt';

export interface Load {
  /** HTTP connections or MQTT clients. */
  readonly connections: number;
  /** MQTT: QoS 1 publishes in flight per client. */
  readonly window?: number;
  /** Readings per request or publish. */
  readonly batch: number;
  /** Registered devices the connections are spread over. */
  readonly devices: number;
}

export type Target =
  | { readonly kind: 'ratio'; readonly of: SystemName; readonly to: SystemName; readonly min: number; readonly label: string }
  | { readonly kind: 'rate'; readonly of: SystemName; readonly min: number; readonly label: string };

export interface ScenarioSpec {
  readonly id: ScenarioId;
  readonly title: string;
  readonly protocol: 'http' | 'mqtt';
  /** Run in this order within each repetition (A, B, C, A, B, C, …). */
  readonly systems: readonly SystemName[];
  readonly load: Load;
  readonly targets: readonly Target[];
  /** Same-run ratios recorded as context: [numerator, denominator]. */
  readonly contextRatios: readonly (readonly [SystemName, SystemName])[];
}

export function scenarioSpecs(overrides: Partial<Record<ScenarioId, Partial<Load>>> = {}): ScenarioSpec[] {
  const specs: ScenarioSpec[] = [
    {
      id: 'http-single',
      title: 'HTTP ingest, one reading per request (durable 202)',
      protocol: 'http',
      systems: ['ours', 'bare-fastify', 'bare-http'],
      load: { connections: 100, batch: 1, devices: 100 },
      targets: [{ kind: 'ratio', of: 'ours', to: 'bare-fastify', min: 0.6, label: 'ours ≥ 0.6 × bare fastify (requests/s)' }],
      contextRatios: [
        ['ours', 'bare-http'],
        ['bare-fastify', 'bare-http'],
      ],
    },
    {
      id: 'http-batch',
      title: 'HTTP ingest, 100-reading batches (durable 202)',
      protocol: 'http',
      systems: ['ours', 'bare-fastify', 'bare-http'],
      load: { connections: 32, batch: 100, devices: 32 },
      targets: [{ kind: 'rate', of: 'ours', min: 250_000, label: 'ours ≥ 250,000 readings/s' }],
      contextRatios: [
        ['ours', 'bare-fastify'],
        ['bare-fastify', 'bare-http'],
      ],
    },
    {
      id: 'mqtt',
      title: 'MQTT QoS 1 ingest, one reading per publish (PUBACK after durable commit)',
      protocol: 'mqtt',
      systems: ['ours', 'bare-aedes', 'mosquitto'],
      load: { connections: 20, window: 50, batch: 1, devices: 20 },
      targets: [
        { kind: 'ratio', of: 'ours', to: 'bare-aedes', min: 0.5, label: 'ours ≥ 0.5 × bare in-memory aedes (PUBACK/s)' },
        { kind: 'rate', of: 'ours', min: 25_000, label: 'ours ≥ 25,000 durable readings/s' },
      ],
      contextRatios: [
        ['ours', 'mosquitto'],
        ['bare-aedes', 'mosquitto'],
      ],
    },
  ];
  return specs.map((s) => ({ ...s, load: { ...s.load, ...(overrides[s.id] ?? {}) } }));
}
