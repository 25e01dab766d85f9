import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { REPO } from './browser.js';
import { exportedNames, metricNames, variableMetric } from './promql.js';

const DIR = path.join(REPO, 'dashboards/grafana');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** The parts of Grafana's dashboard model these checks read. */
interface Target {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}
interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly datasource?: { readonly uid?: string };
}
interface Dashboard {
  readonly uid?: string;
  readonly title?: string;
  readonly id?: number | null;
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly Variable[] };
}

const load = (file: string): Dashboard => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Dashboard;
const panelsOf = (d: Dashboard): Panel[] => (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const queriesOf = (d: Dashboard): { where: string; metrics: string[] }[] => [
  ...panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title ?? '?'} / ${t.refId ?? '?'}`, metrics: metricNames(t.expr ?? '') }))),
  ...(d.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => {
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const metric = variableMetric(q);
      return { where: `variable $${v.name}`, metrics: metric === undefined ? [] : [metric] };
    }),
];

describe('PromQL metric-name extraction (used by the dashboard checks below)', () => {
  it('finds metric names, not functions, label names, label values, keywords, numbers or Grafana variables', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, change) (rate(rpm_x_bucket{instance=~"$instance",a="up_total"}[$__rate_interval])))')).toEqual(['rpm_x_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / sum(rate(b_total{q="fhir"}[5m])) * 3600 + 1e-9')).toEqual(['a_total', 'b_total']);
    expect(metricNames('max(rpm_a / on (instance) rpm_b) and bool rpm_c offset 5m')).toEqual(['rpm_a', 'rpm_b', 'rpm_c']);
    expect(variableMetric('label_values(rpm_readings_total, instance)')).toBe('rpm_readings_total');
  });
});

describe('Grafana dashboards (dashboards/grafana)', () => {
  let t: TestGateway;
  let exported: Set<string>;

  beforeAll(async () => {
    t = await startTestGateway();
    // Per-destination series exist once a destination does (it is never contacted: no readings).
    await t.admin.createOrganization('org-g');
    const created = await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr-g', organizationId: 'org-g', baseUrl: 'http://127.0.0.1:9/fhir', auth: { type: 'none' } });
    expect(created.status).toBe(201);
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    exported = exportedNames(await res.text());
  });
  afterAll(async () => t?.close());

  it('are there, one JSON file per dashboard, each with its own uid', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(2);
    const uids = FILES.map((f) => load(f).uid);
    expect(new Set(uids).size).toBe(FILES.length);
    for (const f of FILES) {
      const d = load(f);
      expect(d.title, f).toMatch(/^RPM gateway/);
      // Importable into any Grafana: no instance-specific numeric id.
      expect(d.id ?? null, f).toBeNull();
    }
  });

  it.each(FILES)('%s queries Prometheus through a datasource variable, never a fixed datasource', (file) => {
    const d = load(file);
    const ds = (d.templating?.list ?? []).find((v) => v.type === 'datasource');
    expect(ds).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const panels = panelsOf(d).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(5);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      for (const target of p.targets ?? []) expect(target.datasource?.uid, p.title).toBe('${datasource}');
    }
    for (const v of (d.templating?.list ?? []).filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${datasource}');
  });

  it.each(FILES)('%s lays its panels out on the 24-column grid without overlaps, with unique ids', (file) => {
    const panels = panelsOf(load(file));
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g, p.title).toBeDefined();
      if (g === undefined) continue;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it.each(FILES)('%s uses only metric names the gateway exports on /metrics', (file) => {
    const queries = queriesOf(load(file));
    expect(queries.length).toBeGreaterThan(5);
    for (const q of queries) {
      expect(q.metrics.length, `${q.where} names no metric`).toBeGreaterThan(0);
      for (const name of q.metrics) expect(exported.has(name), `${file}: ${q.where} queries ${name}, which the gateway does not export`).toBe(true);
    }
  });

  it('cover what operators watch: HTTP answers and latency by route, open alerts, escalations (undeliverable ones too), SMS, sessions, ingest rates, queue depth, rule latency, FHIR delivery backlog, each FHIR destination, event loop, store health, shedding, memory, vendor integrations', () => {
    const used = new Set(FILES.flatMap((f) => queriesOf(load(f)).flatMap((q) => q.metrics)));
    for (const name of [
      'rpm_readings_total',
      'rpm_commit_pending_rows',
      'rpm_commit_pending_rows_limit',
      'rpm_rule_evaluation_lag_seconds_bucket',
      'rpm_rule_backlog_readings',
      'rpm_delivery_backlog',
      'rpm_delivery_dead_letters',
      'rpm_fhir_destination_backlog',
      'rpm_fhir_destination_oldest_waiting_seconds',
      'rpm_fhir_destination_dead_letters',
      'rpm_fhir_destination_circuit_state',
      'rpm_fhir_destination_paused',
      'rpm_event_loop_delay_p99_seconds',
      'rpm_store_writable',
      'rpm_commit_shed_total',
      'rpm_rules_history_observations',
      'rpm_vendor_requests_total',
      'rpm_vendor_request_duration_seconds_bucket',
      'rpm_vendor_readings_total',
      'rpm_vendor_ignored_total',
      'rpm_vendor_device_status_total',
      'rpm_vendor_pulls_total',
      'rpm_vendor_pull_backlog',
      'rpm_vendor_token_refreshes_total',
      'rpm_http_requests_total',
      'rpm_http_request_duration_seconds_bucket',
      'rpm_alerts_open',
      'rpm_escalations_total',
      'rpm_escalations_undeliverable_total',
      'rpm_notifications_total',
      'rpm_staff_sessions',
      'rpm_mqtt_session_events_total',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('are each named in the README, with a Prometheus scrape configuration for /metrics', () => {
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    for (const f of FILES) expect(readme).toContain(f);
    expect(readme).toContain('scrape_configs:');
    expect(readme).toContain('metrics_path: /metrics');
  });
});
