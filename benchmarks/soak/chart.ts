import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, REPO } from '../../dashboards/test/browser.js';
import type { Sample } from './sampler.js';

/**
 * Renders the soak's samples as a PNG a person can look at: uPlot (the dashboard's own charting
 * library) drawing in headless Chromium (playwright-core, the browser the dashboard tests use),
 * screenshotted. Two panels on a shared time axis: memory (RSS and V8 heap in use, MB) and the
 * event loop (p99 and longest stall of the last minute, ms, as /metrics reports them).
 */
export async function renderSoakChart(samples: readonly Sample[], title: string, subtitle: string, outFile: string): Promise<void> {
  const uplotJs = readFileSync(path.join(REPO, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(path.join(REPO, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8');
  const minutes = samples.map((s) => s.t / 60);
  const data = {
    memory: [minutes, samples.map((s) => s.rssMb), samples.map((s) => s.heapUsedMb)],
    loop: [minutes, samples.map((s) => s.eventLoopP99Ms), samples.map((s) => s.eventLoopMaxMs)],
  };
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>${uplotCss}
    body { font: 14px system-ui, sans-serif; margin: 16px; background: #fff; color: #111; width: 1168px; }
    h1 { font-size: 18px; margin: 0 0 4px; } p { margin: 0 0 12px; color: #444; }</style></head>
    <body><h1>${escape(title)}</h1><p>${escape(subtitle)}</p><div id="memory"></div><div id="loop"></div>
    <script>${uplotJs}</script><script>
      const data = ${JSON.stringify(data)};
      const common = { width: 1160, height: 300, scales: { x: { time: false } }, legend: { live: false } };
      const axisX = { label: 'minutes since the load began', stroke: '#111' };
      new uPlot({ ...common, title: 'Memory', axes: [axisX, { label: 'MB', stroke: '#111' }],
        series: [{ label: 'min' }, { label: 'RSS (MB)', stroke: '#1f6feb', width: 2 }, { label: 'V8 heap used (MB)', stroke: '#8250df', width: 1 }] },
        data.memory, document.getElementById('memory'));
      new uPlot({ ...common, title: 'Event-loop delay (last minute, from /metrics)', axes: [axisX, { label: 'ms', stroke: '#111' }],
        series: [{ label: 'min' }, { label: 'p99 (ms)', stroke: '#cf222e', width: 2 }, { label: 'longest stall (ms)', stroke: '#bf8700', width: 1 }] },
        data.loop, document.getElementById('loop'));
    </script></body></html>`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 }, deviceScaleFactor: 1 });
    await page.setContent(html, { waitUntil: 'load' });
    await page.locator('#loop canvas').first().waitFor();
    await page.screenshot({ path: outFile, fullPage: true });
  } finally {
    await browser.close();
  }
}

function escape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
