import path from 'node:path';
import type { Page } from 'playwright-core';
import { REPO } from './browser.js';

const AXE = path.join(REPO, 'node_modules/axe-core/axe.min.js');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/**
 * axe-core's violations of any impact on the page. The page's CSP refuses axe's inline script, so
 * the context must be opened with `bypassCSP` where the page sets one. Only violations are asked
 * for: axe then skips detailing every passing node, which on a large page is most of its time.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, options: { resultTypes: string[] }): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
}

/** Violations readable in a failure message (impact, rule, help, up to `maxNodes` targets). */
export function describeViolations(violations: readonly AxeViolation[], maxNodes = Infinity): string[] {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, maxNodes).map((n) => n.target.join(' ')).join(', ')}`);
}

/** axe-core's serious and critical violations on the page, readable in a failure message. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const violations = await axeViolations(page);
  return describeViolations(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'));
}
