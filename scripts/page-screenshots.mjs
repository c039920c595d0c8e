#!/usr/bin/env node
// Takes the README's screenshots of the web page (docs/page-*.png): the compiled server over a
// temp folder of sample files, signed in through the login form, in headless Chromium
// (/usr/bin/chromium or CHROMIUM_PATH). Run `npm run build` first. Small palette PNGs.
//   node scripts/page-screenshots.mjs
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { startServer } from '../dist/app.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(repo, 'docs');
const root = await mkdtemp(join(tmpdir(), 'page-shots-'));
const etc = await mkdtemp(join(tmpdir(), 'page-shots-etc-'));

/** A soft two-colour gradient photo stand-in. */
async function photo(file, w, h, a, b) {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const t = (x / w + y / h) / 2;
      const i = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) px[i + c] = Math.round(a[c] * (1 - t) + b[c] * t);
    }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toFile(file);
}

await mkdir(join(root, 'Documents'));
await mkdir(join(root, 'Music'));
await mkdir(join(root, 'Photos', 'Holidays 2024'), { recursive: true });
await photo(join(root, 'Photos', 'Beach at dawn.jpg'), 1200, 800, [250, 180, 120], [90, 140, 220]);
await photo(join(root, 'Photos', 'Forest path.jpg'), 1200, 800, [40, 110, 60], [200, 220, 140]);
await photo(join(root, 'Photos', 'Harbour lights.jpg'), 800, 1200, [20, 30, 80], [240, 170, 60]);
await photo(join(root, 'Photos', 'Mountain lake.jpg'), 1200, 800, [70, 150, 200], [230, 240, 250]);
await photo(join(root, 'Photos', 'Old town.jpg'), 1200, 900, [180, 90, 70], [240, 220, 190]);
await photo(join(root, 'Photos', 'Snow field.jpg'), 1200, 800, [200, 215, 235], [120, 140, 170]);
await writeFile(join(root, 'Photos', 'notes.txt'), 'Which ones to print?\n');
await writeFile(join(root, 'Budget 2025.xlsx'), 'x'.repeat(18_000));
await writeFile(join(root, 'Meeting notes.md'), '# Team meeting\n\n**When:** Monday 10:00\n\n- Ship the new file page\n- Review the *Connect* instructions\n- Plan the next release\n\n> Decisions are written down here.\n');
await writeFile(join(root, 'Report Q3.docx'), 'x'.repeat(42_000));
await writeFile(join(root, 'Slides.pdf'), 'x'.repeat(260_000));
await writeFile(join(root, 'todo.txt'), 'milk\neggs\nbread\n');
await writeFile(join(etc, 'htpasswd'), `alice:${bcrypt.hashSync('alice pw', 4)}\n`);

const server = await startServer({ root, host: '127.0.0.1', port: 0, quiet: true, lockStore: 'memory', htpasswd: join(etc, 'htpasswd') });
const base = `http://127.0.0.1:${server.port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-gpu'] });

async function signedIn(options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.fill('#user', 'alice');
  await page.fill('#password', 'alice pw');
  await Promise.all([page.waitForNavigation(), page.press('#password', 'Enter')]);
  return { context, page };
}
async function shot(page, name, opts = {}) {
  await page.evaluate(() => document.fonts.ready);
  const png = await page.screenshot(opts);
  const small = await sharp(png).png({ palette: true, quality: 85, compressionLevel: 9 }).toBuffer();
  await writeFile(join(out, `page-${name}.png`), small);
  console.log(`docs/page-${name}.png ${(small.length / 1024).toFixed(0)} KiB`);
}
const thumbsLoaded = (page) =>
  page.waitForFunction(() =>
    Array.from(document.querySelectorAll('img.thumb'))
      .filter((i) => i.getBoundingClientRect().top < innerHeight)
      .every((i) => i.complete && i.naturalWidth > 0),
  );

try {
  const desktop = { viewport: { width: 1100, height: 640 } };
  let { context, page } = await signedIn(desktop);
  await shot(page, 'listing');
  await page.goto(base + '/Photos/?view=grid');
  await thumbsLoaded(page);
  await shot(page, 'grid');
  await page.click('#grid .card >> nth=1 >> a.open');
  await page.waitForFunction(() => document.querySelector('#viewer-content img')?.naturalWidth > 0);
  await shot(page, 'viewer');
  await page.keyboard.press('Escape');
  await page.goto(base + '/Documents/');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
  const uploads = [];
  for (const [name, mb] of [['Holiday video.mp4', 12], ['Scans.zip', 6], ['Contract.pdf', 0.3], ['Recipes.docx', 9]]) {
    const f = join(etc, name);
    await writeFile(f, Buffer.alloc(Math.round(mb * 1024 * 1024), 1));
    uploads.push(f);
  }
  await page.setInputFiles('#file-input', uploads);
  await page.waitForFunction(() => document.getElementById('overall-progress').value > 0.25);
  await shot(page, 'upload');
  await page.click('#cancel-all');
  await page.goto(base + '/.dav/connect');
  await shot(page, 'connect');
  await context.close();

  ({ context, page } = await signedIn({ viewport: { width: 1100, height: 640 }, colorScheme: 'dark' }));
  await shot(page, 'dark');
  await context.close();

  ({ context, page } = await signedIn({ viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 }));
  await thumbsLoaded(page);
  await shot(page, 'phone');
  await context.close();
} finally {
  await browser.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
  await rm(etc, { recursive: true, force: true });
}
