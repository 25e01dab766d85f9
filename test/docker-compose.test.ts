import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../core/config/load-config.js';
import { envSchema } from '../core/config/schema.js';
import { REPO_ROOT } from './helpers/child-gateway.js';

/*
 * docker-compose.yml is for operators (Docker cannot run on these machines): the file is parsed and
 * checked against the code it starts. Every RPM_* variable is one the config schema knows and the
 * combination each service gets is a valid configuration; every command is one the CLI runs; the
 * load balancer and Prometheus point at the ports the services listen on; images are pinned,
 * every service has a health check, and secrets come from the env file, never literals.
 */

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const rpmServices = Object.entries(services).filter(([, s]) => s.image?.startsWith('rpm-gateway:'));
const roleOf = (s: Service): string => s.command?.[0] ?? 'start';
/** Keys of the env file template (values are empty there: the operator fills them). */
const secretKeys = read('deploy/secrets.env.example')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => l.slice(0, l.indexOf('=')));
const SECRET_NAME = /PASSWORD|TOKEN|SECRET|_KEYS?$|AUTH/;

describe('docker-compose.yml: a small production cluster, checked against the code it runs', () => {
  it('has the services of the distributed mode: 2 gateways behind a load balancer, 2 workers and their engines', () => {
    expect(rpmServices.map(([name, s]) => `${name}:${roleOf(s)}`).sort()).toEqual(['gateway-1:gateway', 'gateway-2:gateway', 'worker-1:worker', 'worker-2:worker']);
    for (const name of ['lb', 'postgres', 'redis', 'influxdb', 'prometheus', 'grafana', 'fhir']) expect(Object.keys(services)).toContain(name);
    expect(services.influxdb?.image).toMatch(/^influxdb:2\./);
    // Redis keeps what it holds (AOF fsync'd per write) and never evicts a queue's keys.
    expect(services.redis?.command?.join(' ')).toMatch(/--appendonly yes.*--appendfsync always.*--maxmemory-policy noeviction/);
  });

  it('names only RPM_* variables the config schema knows, and each service gets a valid configuration', () => {
    const known = new Set(Object.keys(envSchema.shape));
    // A filled-in env file, as an operator would write it.
    const filled: Record<string, string> = {
      RPM_DATABASE_URL: 'postgres://rpm:pw@postgres:5432/rpm',
      RPM_ADMIN_TOKEN: randomBytes(24).toString('base64url'),
      RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      RPM_TIMESERIES_TOKEN: 'influx-token',
    };
    for (const key of secretKeys.filter((k) => k.startsWith('RPM_'))) expect(known, key).toContain(key);
    for (const [name, s] of rpmServices) {
      const env = s.environment ?? {};
      for (const key of Object.keys(env).filter((k) => k.startsWith('RPM_'))) expect(known, `${name}: ${key}`).toContain(key);
      expect(s.env_file).toEqual(['deploy/secrets.env']);
      const config = loadConfig({ ...env, ...filled });
      expect(config.store.kind, name).toBe('postgres');
      expect(config.redis?.url, name).toBe('redis://redis:6379');
      expect(config.timeSeries?.url, name).toBe('http://influxdb:8086');
      expect(config.nodeName, name).toBe(name);
    }
  });

  it('runs commands the CLI knows', () => {
    for (const role of new Set(rpmServices.map(([, s]) => roleOf(s)))) {
      const res = spawnSync(process.execPath, ['bin/rpm.js', role, '--help'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, RPM_CLI_FROM_SOURCE: '1' } });
      expect(res.status, `${role}: ${res.stderr}`).toBe(0);
      expect(res.stdout).toContain(`usage: rpm ${role}`);
    }
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "--max-semi-space-size=64", "bin\/rpm\.js"\]/);
  });

  it('points the load balancer and Prometheus at the ports the services listen on', () => {
    const haproxy = read('deploy/haproxy.cfg');
    const prometheus = parse(read('deploy/prometheus.yml')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const targets = prometheus.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets));
    for (const [name, s] of rpmServices) {
      const env = s.environment ?? {};
      const http = env.RPM_HTTP_PORT ?? '8080';
      expect(targets, name).toContain(`${name}:${http}`);
      if (roleOf(s) === 'gateway') {
        expect(haproxy).toContain(`server ${name} ${name}:${http} check`);
        expect(haproxy).toContain(`server ${name} ${name}:${env.RPM_MQTT_PORT ?? '1883'} check`);
        // Behind the load balancer the client address comes from X-Forwarded-For.
        expect(env.RPM_TRUST_PROXY).toBe('true');
      }
      // The health check asks the port the process listens on.
      expect(s.healthcheck?.test.join(' '), name).toContain(`127.0.0.1:${http}/readyz`);
    }
    expect(services.lb?.ports).toEqual(expect.arrayContaining(['8080:8080', '1883:1883']));
    // Grafana finds the project's dashboards and both data sources.
    const grafanaVolumes = services.grafana?.volumes?.join(' ') ?? '';
    expect(grafanaVolumes).toContain('./dashboards/grafana:');
    const datasources = read('deploy/grafana/provisioning/datasources/datasources.yml');
    expect(datasources).toContain('http://prometheus:9090');
    expect(datasources).toContain('http://influxdb:8086');
  });

  it('pins every image, checks every service, and keeps secrets out of the file', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[a-z0-9./-]+:(v?\d+\.\d+[\w.-]*)$/);
      expect(s.healthcheck?.test?.length ?? 0, `${name} has no health check`).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (SECRET_NAME.test(key)) expect.fail(`${name}: ${key}=${value} is a secret written into docker-compose.yml`);
        expect(String(value), `${name}: ${key}`).not.toMatch(/:\/\/[^/@\s]+:[^/@\s]+@/);
      }
    }
    for (const key of ['RPM_DATABASE_URL', 'RPM_ADMIN_TOKEN', 'RPM_SECRET_KEYS', 'POSTGRES_PASSWORD', 'RPM_TIMESERIES_TOKEN', 'GF_SECURITY_ADMIN_PASSWORD']) expect(secretKeys).toContain(key);
    // The env file itself is never committed.
    expect(read('.gitignore')).toMatch(/deploy\/secrets\.env/);
  });
});
