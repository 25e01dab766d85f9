/**
 * How the dashboard holds up with a full ward: 500 patients with open alerts on the worklist and
 * 5,000 readings on one patient's chart, each first rendered and then updated live. Measured in
 * the page (performance.measure marks set by the app, PerformanceObserver for long tasks), in
 * Debian's Chromium, against a real gateway.
 *
 *   node --import tsx dashboards/test/performance.ts
 *
 * Prints a Markdown report (dashboards/PERFORMANCE.md holds the last one). Not a test: timings
 * depend on the machine, so nothing here asserts a number.
 */
import os from 'node:os';
import type { Page } from 'playwright-core';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { bpHistory, createNurse, enrolPatient, isoAgo, type Nurse, postReadings } from './seed.js';

const PATIENTS = 500;
const LIVE_NEW = 10;
const CHART_READINGS = 5000;
const BURST = 50;
const RUNS = 3;
/** Readings that each create or change an alert of the charted patient (general program): one live chart update each. */
const CHART_LIVE: readonly Record<string, unknown>[] = [
  { kind: 'spo2', value: 93, unit: '%' }, // spo2-low opens, medium
  { kind: 'spo2', value: 90, unit: '%' }, // … becomes high
  { kind: 'heart-rate', value: 115, unit: 'bpm' }, // heart-rate-abnormal opens, medium
  { kind: 'heart-rate', value: 135, unit: 'bpm' }, // … becomes high
  { kind: 'body-temperature', value: 38.4, unit: 'Cel' }, // fever opens, medium
];

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

const severe = (minutesAgo: number) => ({ kind: 'blood-pressure', systolic: 186, diastolic: 100, unit: 'mmHg', measuredAt: isoAgo(minutesAgo * 60_000) });

async function seed(t: TestGateway): Promise<{ ann: Nurse; marcus: Nurse; spare: string[]; featured: string; secrets: Map<string, string> }> {
  await t.admin.createOrganization('ward', 'Ward');
  const ann = await createNurse(t, 'ward', 'ann@ward.example', 'Ann');
  const marcus = await createNurse(t, 'ward', 'marcus@ward.example', 'Marcus');
  const ids = Array.from({ length: PATIENTS + LIVE_NEW }, (_, i) => `p-${String(i).padStart(4, '0')}`);
  const secrets = new Map<string, string>();
  const started = Date.now();
  await pool(ids, 4, async (id) => {
    secrets.set(id, await enrolPatient(t, ann, { id, organizationId: 'ward', programs: ['general', 'hypertension'], riskTier: 1 + (id.charCodeAt(5) % 3) }, { id: `cuff-${id}`, kind: 'bp-cuff' }));
  });
  // One breaching reading each for the first 500: the rules engine raises 500 alerts.
  await pool(ids.slice(0, PATIENTS), 4, async (id) => postReadings(t, secrets.get(id) ?? '', [severe(1 + (Number(id.slice(2)) % 50))]));
  const featured = ids[0] ?? '';
  // 29 days (plus the history's hour), so all of them fall inside the chart's default 30-day period.
  await postReadings(t, secrets.get(featured) ?? '', bpHistory(CHART_READINGS, 29, { clinicEvery: 7 }));
  await t.gw.ctx.alerting!.drain();
  const list = await request<{ patients: unknown[] }>(`${t.baseUrl}/v1/worklist`, { token: ann.token });
  console.error(`seeded ${list.body.patients.length} worklist rows and ${CHART_READINGS + 1} readings on ${featured} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { ann, marcus, spare: ids.slice(PATIENTS), featured, secrets };
}

async function measures(page: Page, name: string): Promise<number[]> {
  return page.evaluate((n) => performance.getEntriesByName(n, 'measure').map((e) => e.duration), name);
}

const stats = (xs: readonly number[]): { median: number; p95: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { median: at(0.5), p95: at(0.95), max: s.at(-1) ?? Number.NaN };
};
const ms = (v: number): string => `${v.toFixed(1)} ms`;

const build = await buildDashboard();
const t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir, RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000' });
const browser = await launchChromium();
const rows: string[] = [];
try {
  const { ann, marcus, spare, featured, secrets } = await seed(t);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // Long tasks (> 50 ms on the main thread) are what a nurse feels as a frozen page.
  await context.addInitScript(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({ type: 'longtask', buffered: true });
  });
  const page = await context.newPage();

  // 1. Time to first render of 500 rows: mount → snapshot fetched (500 alerts) → table built.
  const firstRender: number[] = [];
  const firstDom: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (run === 0) await signIn(page, t.baseUrl, ann.email);
    else await page.reload();
    await page.locator('table.worklist tbody tr').nth(PATIENTS - 1).waitFor({ timeout: 60_000 });
    firstRender.push(...(await measures(page, 'worklist:first-render')));
    firstDom.push(...(await measures(page, 'worklist:first-render-dom')));
  }
  const rowCount = await page.locator('table.worklist tbody tr').count();
  const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);

  // 2. Live updates, one at a time: a new alert for a new patient (device POST → rules → SSE → row).
  await page.evaluate(() => performance.clearMeasures());
  const endToEnd: number[] = [];
  for (const id of spare) {
    const t0 = Date.now();
    await postReadings(t, secrets.get(id) ?? '', [severe(1)]);
    await page.locator(`tr[data-row="${id}"]`).waitFor({ timeout: 10_000 });
    endToEnd.push(Date.now() - t0);
  }
  const liveApply = await measures(page, 'worklist:live-update');
  const livePaint = await measures(page, 'worklist:live-update-painted');

  // 3. A burst: a colleague claims 50 alerts at once (50 transition events).
  await page.evaluate(() => {
    performance.clearMeasures();
    (window as unknown as { longTasks: number[] }).longTasks = [];
  });
  const list = await request<{ patients: { alerts: { id: string; version: number }[] }[] }>(`${t.baseUrl}/v1/worklist`, { token: marcus.token });
  const targets = list.body.patients.slice(100, 100 + BURST).map((p) => p.alerts[0]!);
  const b0 = Date.now();
  await Promise.all(targets.map((a) => request(`${t.baseUrl}/v1/alerts/${a.id}/claim`, { token: marcus.token, method: 'POST', json: { version: a.version } })));
  await page.waitForFunction((n) => document.querySelectorAll('table.worklist tbody td:nth-child(6)').length > 0 && [...document.querySelectorAll('table.worklist tbody td:nth-child(6)')].filter((td) => td.textContent === 'Marcus').length >= n, BURST, { timeout: 20_000 });
  const burstMs = Date.now() - b0;
  const burstApply = await measures(page, 'worklist:live-update');
  const burstLong = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);

  // 4. The keyboard still answers during normal operation: focus moves between rows (input → next frame).
  const inputDelay = await page.evaluate(async () => {
    const links = [...document.querySelectorAll<HTMLAnchorElement>('table.worklist tbody th a')];
    const out: number[] = [];
    for (const a of links.slice(0, 20)) {
      const t0 = performance.now();
      a.focus();
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      out.push(performance.now() - t0);
    }
    return out;
  });

  // 5. The patient chart with 5,000 readings: mount → readings fetched (one page) → uPlot drawn.
  const chart: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await page.evaluate(() => performance.clearMeasures());
    await page.goto(`${t.baseUrl}/#/patients/${featured}`);
    if (run > 0) await page.reload();
    await page.locator('figure[data-kind="blood-pressure"] canvas').first().waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => performance.getEntriesByName('patient:charts-rendered', 'measure').length > 0);
    chart.push(...(await measures(page, 'patient:charts-rendered')));
    await page.goto(`${t.baseUrl}/#/worklist`);
  }
  const chartLabel = await (async () => {
    await page.goto(`${t.baseUrl}/#/patients/${featured}`);
    const fig = page.locator('figure[data-kind="blood-pressure"] [role="img"]');
    await fig.waitFor();
    return fig.getAttribute('aria-label');
  })();

  // 6. A live update on the open 5,000-reading chart: a reading that raises a new alert for the
  // patient (device POST → rules → SSE → the view refetches history and readings → charts redrawn).
  await page.evaluate(() => performance.clearMeasures());
  const chartEndToEnd: number[] = [];
  for (const reading of CHART_LIVE) {
    const before = (await measures(page, 'patient:live-update')).length;
    const c0 = Date.now();
    await postReadings(t, secrets.get(featured) ?? '', [{ ...reading, measuredAt: isoAgo(30_000) }]);
    await page.waitForFunction((n) => performance.getEntriesByName('patient:live-update', 'measure').length > n, before, { timeout: 20_000 });
    chartEndToEnd.push(Date.now() - c0);
  }
  const chartLive = await measures(page, 'patient:live-update');
  const chartRefresh = await measures(page, 'patient:live-refresh');
  const liveKinds = await page.locator('figure.vital').evaluateAll((figs) => figs.map((f) => f.getAttribute('data-kind')));

  const version = browser.version();
  const fr = stats(firstRender);
  const fd = stats(firstDom);
  const la = stats(liveApply);
  const lp = stats(livePaint);
  const e2e = stats(endToEnd);
  const ba = stats(burstApply);
  const ch = stats(chart);
  const kd = stats(inputDelay);
  const cl = stats(chartLive);
  const cr = stats(chartRefresh);
  const ce = stats(chartEndToEnd);
  rows.push(
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, Chromium ${version} (headless), viewport 1440×900.`,
    '',
    '| what | median | p95 | max | n |',
    '|---|---|---|---|---|',
    `| worklist first render, ${rowCount} rows (mount → 500-alert snapshot fetched → table in the DOM) | ${ms(fr.median)} | ${ms(fr.p95)} | ${ms(fr.max)} | ${firstRender.length} |`,
    `| … of which building the table | ${ms(fd.median)} | ${ms(fd.p95)} | ${ms(fd.max)} | ${firstDom.length} |`,
    `| live update applied (stream event → rows updated in the DOM) | ${ms(la.median)} | ${ms(la.p95)} | ${ms(la.max)} | ${liveApply.length} |`,
    `| live update painted (event → next frame after the DOM update) | ${ms(lp.median)} | ${ms(lp.p95)} | ${ms(lp.max)} | ${livePaint.length} |`,
    `| end to end: device POST → rules → SSE → row visible (measured from Node) | ${ms(e2e.median)} | ${ms(e2e.p95)} | ${ms(e2e.max)} | ${endToEnd.length} |`,
    `| burst: ${BURST} claims by a colleague at once, each event applied | ${ms(ba.median)} | ${ms(ba.p95)} | ${ms(ba.max)} | ${burstApply.length} |`,
    `| burst: all ${BURST} visible (from the first request, from Node) | ${ms(burstMs)} | | | 1 |`,
    `| focus moved between rows → next frame, during normal operation | ${ms(kd.median)} | ${ms(kd.p95)} | ${ms(kd.max)} | ${inputDelay.length} |`,
    `| patient chart, ${CHART_READINGS + 1} readings (mount → readings fetched → uPlot drawn, with bands and marks) | ${ms(ch.median)} | ${ms(ch.p95)} | ${ms(ch.max)} | ${chart.length} |`,
    `| patient chart live update: stream event → history and readings refetched → charts redrawn (includes the view's 500 ms wait that folds a burst of events into one refresh) | ${ms(cl.median)} | ${ms(cl.p95)} | ${ms(cl.max)} | ${chartLive.length} |`,
    `| … of which the refresh itself (refetch ${CHART_READINGS + 1}+ readings and the history, redraw every chart) | ${ms(cr.median)} | ${ms(cr.p95)} | ${ms(cr.max)} | ${chartRefresh.length} |`,
    `| end to end: device POST → rules → SSE → patient charts redrawn (measured from Node) | ${ms(ce.median)} | ${ms(ce.p95)} | ${ms(ce.max)} | ${chartEndToEnd.length} |`,
    '',
    `Long tasks (> 50 ms) during the burst: ${burstLong.length === 0 ? 'none' : burstLong.map((d) => ms(d)).join(', ')}. DOM size with ${rowCount} rows: ${domNodes} elements.`,
    `Chart label: “${chartLabel ?? ''}”. Charts after the live updates: ${liveKinds.join(', ')}.`,
  );
  console.log(rows.join('\n'));
} finally {
  await browser.close();
  await t.close();
  build.dispose();
}
