import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStores } from '../connectors/sqlite/index.js';
import { createSqliteStores } from '../connectors/sqlite/index.js';
import { tempDir } from '../test/helpers/gateway.js';
import { makeReading } from '../test/helpers/readings.js';
import { ForwardingRoutes } from './forwarding-routes.js';

describe('ForwardingRoutes: which destinations a reading goes to, from memory', () => {
  let dir: string;
  let stores: SqliteStores;
  let patientLookups: number;
  let routes: ForwardingRoutes;

  beforeEach(async () => {
    dir = tempDir('rpm-routes-');
    stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
    for (const org of ['org-a', 'org-b']) await stores.staff.createOrganization({ id: org, name: org, createdAtMs: 1 });
    await stores.registry.createPatient({ id: 'pa', organizationId: 'org-a', createdAtMs: 1 });
    await stores.registry.createPatient({ id: 'pb', organizationId: 'org-b', createdAtMs: 1 });
    await stores.registry.createPatient({ id: 'loose', organizationId: null, createdAtMs: 1 });
    const base = { baseUrl: 'https://ehr.test/fhir', auth: { type: 'none' as const }, patientMapping: { type: 'reference' as const, template: 'Patient/{patientId}' }, batchSize: null, createdAtMs: 1 };
    await stores.forwarding.createDestination({ ...base, id: 'a-vitals', organizationId: 'org-a', kinds: ['blood-pressure', 'heart-rate'], enabled: true });
    await stores.forwarding.createDestination({ ...base, id: 'a-all', organizationId: 'org-a', kinds: ['blood-pressure', 'body-weight'], enabled: true });
    await stores.forwarding.createDestination({ ...base, id: 'b-off', organizationId: 'org-b', kinds: ['blood-pressure'], enabled: false });
    patientLookups = 0;
    // The real registry, with its patient lookups counted.
    routes = new ForwardingRoutes(stores.forwarding, {
      getPatient: (id) => {
        patientLookups++;
        return stores.registry.getPatient(id);
      },
    });
  });
  afterEach(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("routes by the patient's organization and the reading's kind, to paused destinations too (they hold, not drop)", async () => {
    const readings = [
      makeReading({ patientId: 'pa', kind: 'blood-pressure' }),
      makeReading({ patientId: 'pa', kind: 'heart-rate' }),
      makeReading({ patientId: 'pa', kind: 'spo2' }),
      makeReading({ patientId: 'pb', kind: 'blood-pressure' }),
      makeReading({ patientId: null, kind: 'blood-pressure' }),
      makeReading({ patientId: 'loose', kind: 'blood-pressure' }),
    ];
    expect(await routes.forwardsFor(readings)).toEqual([
      { reading: 0, destinationId: 'a-all' },
      { reading: 0, destinationId: 'a-vitals' },
      { reading: 1, destinationId: 'a-vitals' },
      { reading: 3, destinationId: 'b-off' },
    ]);
    expect(await routes.destinationsFor('pa')).toEqual([
      { destinationId: 'a-all', kinds: ['blood-pressure', 'body-weight'] },
      { destinationId: 'a-vitals', kinds: ['blood-pressure', 'heart-rate'] },
    ]);
    expect(await routes.destinationsFor('loose')).toEqual([]);
  });

  it('looks each patient up once, not per reading, and reloads destinations only when told they changed', async () => {
    const batch = Array.from({ length: 50 }, () => makeReading({ patientId: 'pa', kind: 'body-weight' }));
    expect(await routes.forwardsFor(batch)).toHaveLength(50);
    expect(await routes.forwardsFor(batch)).toHaveLength(50);
    expect(patientLookups).toBe(1);
    await stores.forwarding.updateDestination('b-off', { kinds: ['heart-rate'] }, 2);
    const pb = [makeReading({ patientId: 'pb', kind: 'heart-rate' })];
    expect(await routes.forwardsFor(pb)).toEqual([]);
    routes.invalidate();
    expect(await routes.forwardsFor(pb)).toEqual([{ reading: 0, destinationId: 'b-off' }]);
  });
});
