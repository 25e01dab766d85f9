import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/rpm-error.js';
import { loadConfig } from './load-config.js';

describe('loadConfig', () => {
  it('applies the documented defaults on an empty environment', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8080);
    expect(c.mqtt.port).toBe(1883);
    expect(c.mqtt.ws).toEqual({ enabled: true, path: '/mqtt' });
    expect(c.mqtt.tls).toBeUndefined();
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.store).toMatchObject({ kind: 'sqlite', synchronous: 'FULL' });
    expect(c.store.kind === 'sqlite' && c.store.path.endsWith('/data/rpm.sqlite')).toBe(true);
    expect(c.ingest.maxReadingsPerRequest).toBe(1000);
    expect(c.adminToken).toBeUndefined();
  });

  it('reads RPM_ variables and ignores everything else', () => {
    const c = loadConfig({ RPM_HTTP_PORT: '9000', RPM_MQTT_PORT: '0', RPM_DATA_DIR: '/tmp/x', RPM_ADMIN_TOKEN: 'a'.repeat(20), HTTP_PORT: 'nonsense' });
    expect(c.http.port).toBe(9000);
    expect(c.mqtt.port).toBe(0);
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.adminToken).toBe('a'.repeat(20));
  });

  it('reports every problem at once', () => {
    let caught: unknown;
    try {
      loadConfig({ RPM_HTTP_PORT: 'eighty', RPM_MQTT_PORT: '70000', RPM_ADMIN_TOKEN: 'short', RPM_MQTT_TLS_CERT: '/c.pem' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const e = caught as ConfigError;
    expect(e.code).toBe('RPM_ERR_CONFIG_INVALID');
    expect(e.problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['RPM_HTTP_PORT', 'RPM_MQTT_PORT', 'RPM_ADMIN_TOKEN', 'RPM_MQTT_TLS_KEY']),
    );
  });

  it('returns a deeply frozen object', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('bounds the rules history and keeps a full request within the commit queue bound', () => {
    expect(loadConfig({}).rules.history).toEqual({ perKind: 2000, total: 200_000 });
    expect(loadConfig({ RPM_RULES_HISTORY_PER_KIND: '50', RPM_RULES_HISTORY_TOTAL: '5000' }).rules.history).toEqual({ perKind: 50, total: 5000 });
    expect(loadConfig({ RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '7' }).mqtt.publishRateLimitPerDevicePerMin).toBe(7);
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems.map((p) => p.split(':')[0] as string);
      }
    };
    expect(problems({ RPM_RULES_HISTORY_PER_KIND: '500', RPM_RULES_HISTORY_TOTAL: '100' })).toEqual(['RPM_RULES_HISTORY_TOTAL']);
    expect(problems({ RPM_COMMIT_MAX_PENDING: '10' })).toEqual(['RPM_COMMIT_MAX_PENDING']);
    expect(problems({ RPM_COMMIT_MAX_PENDING: '10', RPM_MAX_READINGS_PER_REQUEST: '10' })).toEqual([]);
  });

  it('configures the TLS listener only when both cert and key are given', () => {
    const c = loadConfig({ RPM_MQTT_TLS_CERT: '/c.pem', RPM_MQTT_TLS_KEY: '/k.pem' });
    expect(c.mqtt.tls).toEqual({ port: 8883, certFile: '/c.pem', keyFile: '/k.pem', caFile: undefined });
  });

  it('selects PostgreSQL with a database URL, pool size and statement timeout', () => {
    const c = loadConfig({ RPM_STORE: 'postgres', RPM_DATABASE_URL: 'postgresql://rpm:pw@db.internal:5433/rpm?sslmode=require' });
    expect(c.store).toEqual({ kind: 'postgres', url: 'postgresql://rpm:pw@db.internal:5433/rpm?sslmode=require', poolSize: 10, statementTimeoutMs: 30_000 });
    const tuned = loadConfig({ RPM_STORE: 'postgres', RPM_DATABASE_URL: 'postgres://127.0.0.1/rpm', RPM_DATABASE_POOL_SIZE: '4', RPM_DATABASE_STATEMENT_TIMEOUT_MS: '5000' });
    expect(tuned.store).toMatchObject({ kind: 'postgres', poolSize: 4, statementTimeoutMs: 5000 });
  });

  it('refuses a PostgreSQL store without a URL, a URL of another kind, and a URL the default store would ignore', () => {
    const problems = (env: Record<string, string>): readonly string[] => {
      try {
        loadConfig(env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(problems({ RPM_STORE: 'postgres' })).toEqual(['RPM_DATABASE_URL: required when RPM_STORE=postgres']);
    expect(problems({ RPM_STORE: 'postgres', RPM_DATABASE_URL: 'mysql://db/rpm' })).toEqual(['RPM_DATABASE_URL: must be a postgres:// or postgresql:// URL']);
    expect(problems({ RPM_STORE: 'postgres', RPM_DATABASE_URL: 'not a url' })).toHaveLength(1);
    expect(problems({ RPM_DATABASE_URL: 'postgres://db/rpm' })[0]).toMatch(/^RPM_DATABASE_URL: set, but RPM_STORE is not postgres/);
    expect(problems({ RPM_STORE: 'postgres', RPM_DATABASE_URL: 'postgres://db/rpm', RPM_DATABASE_POOL_SIZE: '0' })[0]).toMatch(/^RPM_DATABASE_POOL_SIZE/);
    expect(problems({ RPM_STORE: 'mongodb' })[0]).toMatch(/^RPM_STORE/);
    // Problems never echo the URL, which may carry a password.
    expect(problems({ RPM_STORE: 'postgres', RPM_DATABASE_URL: 'http://user:hunter2@db/rpm' }).join()).not.toContain('hunter2');
  });

  it('takes the secret keys from RPM_SECRET_KEYS or a file, checks them, and never echoes one in a problem', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({}).secretKeys).toBeUndefined();
    expect(loadConfig({ RPM_SECRET_KEYS: `k2:${key},k1:${key}` }).secretKeys).toEqual({ from: 'env', text: `k2:${key},k1:${key}` });
    expect(loadConfig({ RPM_SECRET_KEYS_FILE: '/run/secrets/rpm-keys' }).secretKeys).toEqual({ from: 'file', path: '/run/secrets/rpm-keys' });
    let caught: ConfigError | undefined;
    try {
      loadConfig({ RPM_SECRET_KEYS: `k1:${Buffer.alloc(16, 9).toString('base64')}`, RPM_SECRET_KEYS_FILE: '/x' });
    } catch (err) {
      caught = err as ConfigError;
    }
    expect(caught?.problems).toEqual([
      "RPM_SECRET_KEYS: key 'k1': must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)",
      'RPM_SECRET_KEYS_FILE: set RPM_SECRET_KEYS or RPM_SECRET_KEYS_FILE, not both',
    ]);
    expect(caught?.message).not.toContain(Buffer.alloc(16, 9).toString('base64'));
  });
});
