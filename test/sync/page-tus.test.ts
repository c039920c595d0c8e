/// <reference lib="dom" />
/**
 * The page's big-file uploads in headless Chromium, through a proxy that refuses request bodies
 * over 3 MB (a Cloudflare-like cap, scaled down): a 12 MiB file goes up in 2 MiB tus chunks;
 * the proxy cuts the connection mid-chunk and the page resumes from the server's offset; a page
 * closed mid-upload and opened again resumes the same upload when the same file is chosen. Every
 * time the stored file equals the source and no byte crossed the proxy twice beyond the chunk in
 * flight.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, watchProblems } from '../browser/chromium.js';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { startProxy, type TestProxy } from './proxy.js';

const MiB = 1024 * 1024;
const CHUNK = 2 * MiB;
const SIZE = 12 * MiB;
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

describe('page: big files upload resumably through tus (headless Chromium)', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let proxy: TestProxy;
  let browser: Browser;
  let context: BrowserContext;
  let problems: string[];
  let tmp: string;

  before(async () => {
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory' });
    proxy = await startProxy(srv.base, 3 * 1000 * 1000);
    tmp = await makeTempDir('page-tus');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await srv?.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(async () => {
    problems = [];
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  });
  afterEach(async () => {
    await context.close();
  });

  /** A page of /dav/ through the proxy, sending files over CHUNK bytes with tus. */
  async function open(): Promise<Page> {
    const page = await context.newPage();
    // The cut connection is logged by Chromium as a failed load; anything else is a problem.
    watchProblems(page, problems, () => []);
    await page.goto(`${proxy.base}/dav/`);
    await page.evaluate((chunk) => {
      (window as unknown as { DavPage: { tusChunk: number } }).DavPage.tusChunk = chunk;
    }, CHUNK);
    return page;
  }

  const done = (page: Page): Promise<unknown> => page.waitForFunction(() => document.getElementById('overall-label')?.textContent === 'Uploaded 1 of 1', undefined, { timeout: 90_000 });
  const unexpected = (): string[] => problems.filter((p) => !/net::ERR_|Failed to load resource/.test(p));

  it('sends a file bigger than the proxy accepts in chunks, and resumes after the proxy cuts the connection', async () => {
    const data = randomBytes(SIZE);
    const file = join(tmp, 'big one.bin');
    await writeFile(file, data);
    const page = await open();
    const first = proxy.log.length;
    const cut = proxy.cutAfter(5 * MiB + 300 * 1024); // inside the third chunk
    await page.setInputFiles('#file-input', file);
    await cut;
    await done(page);
    expect(await readFile(join(srv.root, 'big one.bin'))).to.satisfy((b: Buffer) => sha1(b) === sha1(data));
    // The chunk in flight was cut; the server kept what reached it and the page went on from there.
    // (Chromium itself may send a request cut on a reused connection once more: that resend of
    // the chunk in flight is answered 409, with the server's offset.) Outside that chunk, every
    // byte crossed the proxy exactly once.
    const patches = proxy.log.filter((r) => r.method === 'PATCH' && proxy.log.indexOf(r) >= first);
    const cutAt = patches.findIndex((r) => r.status === 0);
    expect(cutAt, 'a PATCH was cut').to.be.at.least(0);
    const inFlight = patches[cutAt]!.offset;
    const after = patches.slice(cutAt + 1).filter((r) => r.offset !== inFlight);
    expect(patches.slice(cutAt + 1).filter((r) => r.offset === inFlight).every((r) => r.status === 409)).to.equal(true);
    const resumed = Number(after[0]!.offset);
    expect(resumed, 'resumed past the start of the cut chunk').to.be.greaterThan(Number(inFlight));
    const outside = patches.filter((r) => r.offset !== inFlight).reduce((n, r) => n + r.bytes, 0);
    expect(outside).to.equal(SIZE - (resumed - Number(inFlight)));
    expect(after.every((r) => r.status === 204 || r.status === 201)).to.equal(true);
    expect(proxy.largestBody).to.be.at.most(3 * 1000 * 1000);
    expect(proxy.refused).to.equal(0);
    expect(await page.textContent('#upload-list li.done .ustatus')).to.equal('Done');
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('dav-tus ')))).to.deep.equal([]);
    expect(unexpected()).to.deep.equal([]);
  });

  it('a page closed mid-upload resumes the same upload when the same file is chosen again', async () => {
    const data = randomBytes(SIZE);
    const file = join(tmp, 'resume me.bin');
    await writeFile(file, data);
    const first = await open();
    // Slow enough to close the page half way.
    const cdp = await context.newCDPSession(first);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * MiB });
    const before = proxy.bodyBytes;
    await first.setInputFiles('#file-input', file);
    await first.waitForFunction(() => {
      const bar = document.querySelector('#upload-list li.uploading progress') as HTMLProgressElement | null;
      return bar !== null && bar.value > 0.4;
    });
    await first.close();
    const stored = proxy.bodyBytes - before;
    expect(stored).to.be.greaterThan(4 * MiB).and.lessThan(SIZE);
    expect(await readdir(srv.root), 'nothing visible before the last byte').not.to.include('resume me.bin');

    const second = await open();
    await second.setInputFiles('#file-input', file);
    await done(second);
    expect(sha1(await readFile(join(srv.root, 'resume me.bin')))).to.equal(sha1(data));
    const sent = proxy.bodyBytes - before;
    expect(sent - SIZE, 'bytes sent twice').to.be.at.least(0).and.at.most(CHUNK);
    expect(unexpected()).to.deep.equal([]);
  });

  it('a file up to one chunk still goes in one PUT; a cancelled tus upload is abandoned on the server', async () => {
    const page = await open();
    const small = join(tmp, 'small.bin');
    await writeFile(small, randomBytes(CHUNK));
    const before = proxy.bodyBytes;
    await page.setInputFiles('#file-input', small);
    await done(page);
    expect(proxy.bodyBytes - before).to.equal(CHUNK);
    expect((await readFile(join(srv.root, 'small.bin'))).length).to.equal(CHUNK);

    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1 * MiB });
    const big = join(tmp, 'cancel me.bin');
    await writeFile(big, randomBytes(SIZE));
    await page.setInputFiles('#file-input', big);
    await page.waitForFunction(() => ((document.querySelector('#upload-list li.uploading progress') as HTMLProgressElement | null)?.value ?? 0) > 0.1);
    await page.click('button[aria-label="Cancel upload of cancel me.bin"]');
    await page.locator('#upload-list li.cancelled .ustatus', { hasText: 'Cancelled' }).waitFor();
    // The partial upload is gone from the staging area (tus termination), not left to expire.
    const resumable = join(srv.root, '.davmeta', 'staging', 'resumable');
    const deletes = (): number[] => proxy.log.filter((r) => r.method === 'DELETE').map((r) => r.status);
    for (let i = 0; i < 100 && ((await readdir(resumable)).length > 0 || deletes().includes(0)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(deletes()).to.deep.equal([204]);
    expect(await readdir(resumable)).to.deep.equal([]);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('dav-tus ')))).to.deep.equal([]);
    expect(unexpected()).to.deep.equal([]);
  });
});
