/** Headless Chromium (Debian's /usr/bin/chromium) driven through playwright-core. */
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
