/** Headless Chromium (Debian's /usr/bin/chromium) driven through playwright-core. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Names of the listed members, in page order (folders carry no trailing slash here). */
export const names = (p: Page): Promise<string[]> => p.$$eval('tr.entry', (rows) => rows.map((r) => (r as HTMLElement).dataset.name!));

/** The listing row whose label shows `name` (folders show a trailing slash). */
export const rowFor = (p: Page, name: string): Locator => p.locator('tr.entry').filter({ has: p.locator('.label', { hasText: name }) });

/** Waits for the page's dialog, types `value` when given, confirms and waits for it to close. */
export async function dialogAnswer(p: Page, value?: string): Promise<void> {
  const dlg = p.locator('dialog#dialog');
  await dlg.waitFor({ state: 'visible' });
  if (value !== undefined) await p.fill('#dialog-input', value);
  await p.click('#dialog-ok');
  await dlg.waitFor({ state: 'hidden' });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does
 * not govern) and returns its critical and serious violations, one line each.
 */
export async function axeProblems(p: Page, label: string): Promise<string[]> {
  await p.evaluate(AXE_SOURCE + '\n;0');
  const out = (await p.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
      .filter((v) => v.impact === 'critical' || v.impact === 'serious')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' | ')))`)) as string[];
  return out.map((s) => `${label}: ${s}`);
}

/** Answers the page's dialog with its Cancel button and waits for it to close. */
export async function dialogCancel(p: Page): Promise<void> {
  const dlg = p.locator('dialog#dialog');
  await dlg.waitFor({ state: 'visible' });
  await p.click('#dialog-cancel');
  await dlg.waitFor({ state: 'hidden' });
}

/** The toast whose text contains `text` (waits for it). */
export async function toast(p: Page, text: string, kind: 'ok' | 'error' | 'info' = 'error'): Promise<string> {
  const t = p.locator(`#toasts .toast.${kind}`, { hasText: text }).first();
  await t.waitFor();
  return (await t.textContent())!;
}

/**
 * Records what must fail a page test: an alert/confirm/prompt (the page never uses them), a script
 * error, a CSP violation or a failed load, except HTTP statuses the test provokes on purpose
 * (Chromium logs every 4xx of a fetch to the console). The beforeunload question is a dialog
 * the page asks on purpose; it is dismissed (the page stays) without counting.
 */
export function watchProblems(p: Page, problems: string[], expectedStatuses: () => number[]): void {
  p.on('dialog', (d) => {
    if (d.type() !== 'beforeunload') problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  p.on('pageerror', (e) => problems.push(String(e)));
  p.on('console', (m) => {
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
    if (m.type() === 'error' && !(failed && expectedStatuses().includes(Number(failed[1])))) problems.push(m.text());
  });
}
