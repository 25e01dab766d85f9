import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WithingsCloud } from '../../simulators/vendors/withings-cloud.js';
import { WithingsHttpApi } from './withings-http-api.js';

/** The connector against the Withings stand-in (its real wire format: form posts, {status, body} answers). */
describe('WithingsHttpApi', () => {
  const cloud = new WithingsCloud({ clientId: 'cid', clientSecret: 'csecret', pageSize: 1 });
  const api = new WithingsHttpApi({ timeoutMs: 2000 });
  let app: { baseUrl: string; clientId: string; clientSecret: string };
  beforeAll(async () => {
    app = { baseUrl: await cloud.start(), clientId: 'cid', clientSecret: 'csecret' };
  });
  afterAll(async () => cloud.stop());

  it('refreshes tokens (Withings rotates the refresh token) and pages getmeas with offset', async () => {
    const granted = cloud.addUser('42', 'America/New_York');
    cloud.measure('42', { attrib: 0, date: 1764576000, category: 1, measures: [{ value: 80125, type: 1, unit: -3 }] });
    cloud.measure('42', { attrib: 0, date: 1764576600, category: 1, measures: [{ value: 120, type: 10, unit: 0 }, { value: 80, type: 9, unit: 0 }] });
    const t = await api.refreshToken(app, granted.refreshToken);
    expect(t).toMatchObject({ userId: '42', expiresInSeconds: 10_800 });
    expect(t.refreshToken).not.toBe(granted.refreshToken);
    const first = await api.getMeasures(app, t.accessToken, { startdate: 1764570000, enddate: 1764580000, meastypes: [1, 9, 10] });
    expect(first.body).toMatchObject({ more: 1, offset: 1, timezone: 'America/New_York', measuregrps: [{ date: 1764576000 }] });
    expect(JSON.parse(first.raw)).toMatchObject({ status: 0 });
    const second = await api.getMeasures(app, t.accessToken, { startdate: 1764570000, enddate: 1764580000, meastypes: [1, 9, 10], offset: 1 });
    expect(second.body).toMatchObject({ more: 0, measuregrps: [{ date: 1764576600 }] });
  });

  it("maps Withings' answers to our codes: a refused token is AUTH, 601 asks to wait, 5xx and garbage are retried failures", async () => {
    const user = cloud.addUser('43');
    await expect(api.refreshToken(app, 'not-a-token')).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR_AUTH' });
    await expect(api.refreshToken({ ...app, clientSecret: 'wrong' }, user.refreshToken)).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR_AUTH' });
    await expect(api.getMeasures(app, 'bogus', { startdate: 0, enddate: 1, meastypes: [1] })).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR_AUTH', details: { withingsStatus: 401 } });
    cloud.failNext('status-601');
    await expect(api.getMeasures(app, user.accessToken, { startdate: 0, enddate: 1, meastypes: [1] })).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR', retryAfterSeconds: 60 });
    cloud.failNext('http-500');
    await expect(api.getMeasures(app, user.accessToken, { startdate: 0, enddate: 1, meastypes: [1] })).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR', details: { httpStatus: 500 } });
    cloud.failNext('not-json');
    await expect(api.getMeasures(app, user.accessToken, { startdate: 0, enddate: 1, meastypes: [1] })).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR' });
    await expect(api.getMeasures({ ...app, baseUrl: 'http://127.0.0.1:9' }, user.accessToken, { startdate: 0, enddate: 1, meastypes: [1] })).rejects.toMatchObject({ code: 'RPM_ERR_UPSTREAM_VENDOR' });
    // After all that, the token still works.
    await expect(api.getMeasures(app, user.accessToken, { startdate: 0, enddate: 1, meastypes: [1] })).resolves.toMatchObject({ body: { measuregrps: [] } });
  });
});
