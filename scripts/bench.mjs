#!/usr/bin/env node
// npm run bench: starts our server (node dist/cli.js, building first when needed) over a fresh
// directory (tmpfs /dev/shm when available), runs the workloads of ../shared/bench on it and
// prints one `workload value unit` line each, then a summary table.
//
// Load generator: wrk (Debian package `wrk`) for get_small and put_small; without it a built-in
// Node keep-alive client is used and the lines say so (it measures less: the client is slower
// than the server). curl is used for the large transfers when present, else Node's http client.
//
// Environment (sizes; defaults are the full run, BENCH_SCALE=small is a ~30 s smoke run):
//   BENCH_SCALE=full|small   SMALL_BYTES LARGE_MB PF_FILES TREE_DIRS TREE_FILES CT_FILES CT_BYTES
//   DURATION (s, wrk runs) WARMUP (s) CONNS (32) THREADS (2) LOCK_CLIENTS (8) LOCK_SECONDS
//   LOCK1_SECONDS PF_REPEATS LARGE_TRIES CT_REPEATS
//   BENCH_WORKLOADS=get_large,put_large,get_small,put_small,lock_cycle,propfind_d1_10k,propfind_dinf_tree,copy_move
//     (the default) and, asked for by name, propfind_d1_100k (PF100K_FILES members, made by the
//     workload itself), propfind_gzip (the propfind_d1_10k listing with Accept-Encoding: gzip:
//     bytes on the wire and time against the plain one) and page_2k (the HTML page of a
//     PAGE_FILES-member folder in headless Chromium, CHROMIUM_PATH or /usr/bin/chromium:
//     milliseconds to the page's dav-ready mark)
//   BENCH_DIR (parent of the fresh fixture directory; default /dev/shm, else the OS temp dir)
//   BENCH_SERVER_ARGS  extra arguments for dist/cli.js (e.g. "--lock-store memory")
//   BENCH_LOAD=wrk|node   force a load generator
//   BENCH_HTPASSWD=1      serve with --htpasswd (user bench, a cost-10 bcrypt hash) and send its
//                         Basic credentials with every request: the cost of authentication
//   BENCH_JSON=file       also write the results as JSON
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const SMALL = process.env.BENCH_SCALE === 'small';
const cfg = {
  smallBytes: env('SMALL_BYTES', 4096),
  largeMb: env('LARGE_MB', SMALL ? 32 : 512),
  pfFiles: env('PF_FILES', SMALL ? 1000 : 10000),
  treeDirs: env('TREE_DIRS', SMALL ? 10 : 50),
  treeFiles: env('TREE_FILES', SMALL ? 20 : 100),
  ctFiles: env('CT_FILES', SMALL ? 100 : 1000),
  ctBytes: env('CT_BYTES', 1024),
  duration: env('DURATION', SMALL ? 2 : 5),
  warmup: env('WARMUP', SMALL ? 0 : 1),
  conns: env('CONNS', 32),
  threads: env('THREADS', 2),
  lockClients: env('LOCK_CLIENTS', 8),
  lockSeconds: env('LOCK_SECONDS', SMALL ? 2 : 5),
  lock1Seconds: env('LOCK1_SECONDS', SMALL ? 1 : 2),
  pfRepeats: env('PF_REPEATS', SMALL ? 2 : 5),
  largeTries: env('LARGE_TRIES', SMALL ? 1 : 3),
  ctRepeats: env('CT_REPEATS', SMALL ? 1 : 3),
  pf100kFiles: env('PF100K_FILES', SMALL ? 5000 : 100000),
  pageFiles: env('PAGE_FILES', 2000),
};
const WORKLOADS = (process.env.BENCH_WORKLOADS || 'get_large,put_large,get_small,put_small,lock_cycle,propfind_d1_10k,propfind_dinf_tree,copy_move').split(',');

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const LOAD = process.env.BENCH_LOAD || (have('wrk') ? 'wrk' : 'node');
if (LOAD === 'wrk' && !have('wrk')) {
  console.error('bench: BENCH_LOAD=wrk but wrk is not installed (Debian: apt-get install wrk)');
  process.exit(2);
}
const CURL = have('curl');
const AUTH = process.env.BENCH_HTPASSWD === '1' ? { Authorization: 'Basic ' + Buffer.from('bench:bench pw').toString('base64') } : {};
const AUTH_HEADER = AUTH.Authorization ? ['-H', `Authorization: ${AUTH.Authorization}`] : [];

const results = [];
const emit = (name, value, unit) => {
  const v = typeof value === 'number' ? (Number.isFinite(value) ? +value.toFixed(value < 100 ? 2 : 1) : 'NA') : value;
  results.push({ name, value: v, unit });
  console.log(`${name} ${v} ${unit}`);
};
const note = (s) => console.log(`# ${s}`);
const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  if (!a.length) return NaN;
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- build and fixtures ----------------------------------------------------------------
execFileSync(process.execPath, [join(root, 'scripts', 'ensure-build.mjs')], { stdio: 'inherit' });
const parent = process.env.BENCH_DIR || (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(join(parent, 'dav-bench-'));
const dir = join(work, 'root');
const pad = (n, w) => String(n).padStart(w, '0');
const pattern = (n) => Buffer.alloc(n, '0123456789abcdef');

function fixtures() {
  for (const c of ['put_small', 'locks', 'pf10k', 'tree', 'ct']) mkdirSync(join(dir, c), { recursive: true });
  writeFileSync(join(dir, 'small.bin'), pattern(cfg.smallBytes));
  for (let i = 0; i < cfg.lockClients; i++) writeFileSync(join(dir, `locks/l${i}.txt`), `lock target ${i}\n`);
  for (let i = 0; i < cfg.pfFiles; i++) writeFileSync(join(dir, `pf10k/f${pad(i, 5)}.txt`), `pf10k file ${i}\n`);
  for (let d = 0; d < cfg.treeDirs; d++) {
    mkdirSync(join(dir, `tree/d${pad(d, 2)}`));
    for (let i = 0; i < cfg.treeFiles; i++) writeFileSync(join(dir, `tree/d${pad(d, 2)}/f${pad(i, 3)}.txt`), `tree ${d} ${i}\n`);
  }
  const ct = pattern(cfg.ctBytes);
  for (let i = 0; i < cfg.ctFiles; i++) writeFileSync(join(dir, `ct/f${pad(i, 4)}.bin`), ct);
  // the large file: random bytes (written in 1 MiB chunks, never held whole), outside the root
  // too, as the PUT source
  const chunk = Buffer.alloc(1 << 20);
  const fd = openSync(join(work, 'large-src.bin'), 'w');
  for (let i = 0; i < cfg.largeMb; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
  copyFileSync(join(work, 'large-src.bin'), join(dir, 'large.bin'));
}

// ---- server ----------------------------------------------------------------------------
let server;
let base;
async function startServer() {
  const extra = (process.env.BENCH_SERVER_ARGS || '').split(/\s+/).filter(Boolean);
  if (AUTH.Authorization) {
    const { default: bcrypt } = await import('bcryptjs');
    writeFileSync(join(work, 'htpasswd'), `bench:${bcrypt.hashSync('bench pw', 10)}\n`);
    extra.push('--htpasswd', join(work, 'htpasswd'));
  }
  server = spawn(process.execPath, [join(root, 'dist', 'cli.js'), '--host', '127.0.0.1', '--port', '0', '--root', dir, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise((resolve, reject) => {
    let out = '';
    // Only until the line is seen: the access log that follows is drained unread (scanning all
    // of it on every chunk made the bench itself slow after the wrk phases, ~40 ms per request).
    const look = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      server.stdout.off('data', look);
      out = '';
      resolve(m[1].endsWith('/') ? m[1] : m[1] + '/');
    };
    server.stdout.on('data', look);
    server.once('exit', (c) => reject(new Error(`server exited with ${c} before listening`)));
    setTimeout(() => reject(new Error('server did not start in 20 s')), 20_000).unref();
  });
  server.stdout.resume();
}
function stopServer() {
  if (server && server.exitCode === null) server.kill('SIGTERM');
}

// ---- memory of the server process ---------------------------------------------------------
const linux = existsSync('/proc/self/status');
const status = (field) => {
  if (!linux) return NaN;
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
let peakMib = 0;
const resetPeak = () => {
  if (!linux) return;
  peakMib = Math.max(peakMib, status('VmHWM'));
  try {
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  } catch {
    /* not permitted: peaks are since start */
  }
};
const peakOf = (name) => {
  if (!linux) return;
  const h = status('VmHWM');
  peakMib = Math.max(peakMib, h);
  emit(`${name}_peak_rss`, h, 'MiB');
};

// ---- HTTP client ----------------------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
async function request(method, path, opts = {}) {
  const r = await request1(method, path, opts);
  // a keep-alive socket the server closed while idle fails at once: retry on a fresh one
  return r.status === 0 && r.error?.code === 'ECONNRESET' ? request1(method, path, opts) : r;
}
function request1(method, path, { headers = {}, body, sink } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(new URL(path, base), { method, agent, headers: { ...AUTH, ...headers, 'Content-Length': body ? body.length : 0 } }, (res) => {
      let bytes = 0;
      const chunks = [];
      res.on('data', (d) => {
        bytes += d.length;
        if (sink) chunks.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes, ms: performance.now() - t0, body: sink ? Buffer.concat(chunks).toString() : '' }));
      res.on('error', () => resolve({ status: 0, bytes, ms: 0 }));
    });
    req.setTimeout(300_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, error: e, bytes: 0, ms: 0 }));
    req.end(body);
  });
}

/** Built-in load loop (when wrk is missing): `conns` keep-alive clients for `seconds`. */
async function nodeLoad(seconds, makeReq) {
  const a = new http.Agent({ keepAlive: true, maxSockets: cfg.conns });
  let n = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const one = (i, k) =>
    new Promise((resolve) => {
      const { method, path, body } = makeReq(i, k);
      const req = http.request(new URL(path, base), { method, agent: a, headers: { ...AUTH, 'Content-Length': body ? body.length : 0 } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: cfg.conns }, async (_, i) => {
      for (let k = 0; performance.now() < deadline; k++) {
        const s = await one(i, k);
        if (s >= 200 && s < 400) n++;
        else errors++;
      }
    }),
  );
  a.destroy();
  return { rps: n / ((performance.now() - t0) / 1000), errors };
}

/**
 * Runs wrk without blocking this process: the server's access log comes through a pipe this
 * process reads, and a spawnSync kept it unread for the whole run, so the server queued every
 * line of it in memory (counted in its RSS) and spent the next workloads writing the backlog
 * (single requests stalled ~20 ms each: lock_cycle_1c read 15 cycles/s instead of ~150).
 */
function wrk(seconds, url, script, args = []) {
  return new Promise((resolve) => {
    const child = spawn('wrk', [`-t${cfg.threads}`, `-c${cfg.conns}`, `-d${seconds}s`, ...AUTH_HEADER, ...(script ? ['-s', script] : []), url, ...(args.length ? ['--', ...args] : [])]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve(wrkResult('', String(e))));
    child.on('close', () => resolve(wrkResult(stdout, stderr)));
  });
}

function wrkResult(out, err) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  if (!Number.isFinite(rps)) note(`wrk failed: ${out}${err}`);
  return { rps, errors };
}

// ---- workloads --------------------------------------------------------------------------------
const W = {};

W.get_large = async () => {
  const size = cfg.largeMb * 1048576;
  const speeds = [];
  resetPeak();
  for (let i = 0; i < cfg.largeTries; i++) {
    if (CURL) {
      const r = spawnSync('curl', ['-s', ...AUTH_HEADER, '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', `${base}large.bin`], { encoding: 'utf8' });
      const [code, got, t] = r.stdout.split(' ').map(Number);
      if (code === 200 && got === size) speeds.push(size / t / 1e6);
      else note(`get_large: HTTP ${code}, ${got} bytes`);
    } else {
      const r = await request('GET', 'large.bin');
      if (r.status === 200 && r.bytes === size) speeds.push(size / (r.ms / 1000) / 1e6);
    }
  }
  emit('get_large', Math.max(...speeds), 'MB/s');
  peakOf('get_large');
};

W.put_large = async () => {
  const size = cfg.largeMb * 1048576;
  const src = join(work, 'large-src.bin');
  const speeds = [];
  resetPeak();
  const before = status('VmRSS');
  for (let i = 0; i < cfg.largeTries; i++) {
    if (CURL) {
      const r = spawnSync('curl', ['-s', ...AUTH_HEADER, '-o', '/dev/null', '-H', 'Expect:', '-w', '%{http_code} %{time_total}', '-T', src, `${base}put_large.bin`], { encoding: 'utf8' });
      const [code, t] = r.stdout.split(' ').map(Number);
      if (code >= 200 && code < 300) speeds.push(size / t / 1e6);
      else note(`put_large: HTTP ${code}`);
    } else {
      const { createReadStream } = await import('node:fs');
      const t0 = performance.now();
      const code = await new Promise((resolve) => {
        const req = http.request(new URL('put_large.bin', base), { method: 'PUT', agent, headers: { ...AUTH, 'Content-Length': size } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
        createReadStream(src).pipe(req);
      });
      if (code >= 200 && code < 300) speeds.push(size / ((performance.now() - t0) / 1000) / 1e6);
    }
  }
  if (statSync(join(dir, 'put_large.bin')).size !== size) note('put_large: stored file has the wrong size');
  emit('put_large', Math.max(...speeds), 'MB/s');
  peakOf('put_large');
  if (linux) emit('put_large_peak_delta', status('VmHWM') - before, 'MiB');
};

const LOAD_NOTE = LOAD === 'wrk' ? 'wrk' : 'node client (install wrk for real numbers)';
W.get_small = async () => {
  const url = `${base}small.bin`;
  const probe = await request('GET', 'small.bin');
  if (probe.status !== 200 || probe.bytes !== cfg.smallBytes) throw new Error(`get_small probe: ${probe.status}`);
  if (cfg.warmup) LOAD === 'wrk' ? await wrk(cfg.warmup, url) : await nodeLoad(cfg.warmup, () => ({ method: 'GET', path: 'small.bin' }));
  resetPeak();
  const r = LOAD === 'wrk' ? await wrk(cfg.duration, url) : await nodeLoad(cfg.duration, () => ({ method: 'GET', path: 'small.bin' }));
  note(`get_small: load generator ${LOAD_NOTE}, ${cfg.conns} connections`);
  emit('get_small', r.rps, 'req/s');
  emit('get_small_errors', r.errors, 'count');
  peakOf('get_small');
};

W.put_small = async () => {
  const body = pattern(cfg.smallBytes);
  const lua = join(root, 'scripts', 'bench-put-small.lua');
  const basePath = new URL(base).pathname;
  const run = async (seconds, tag) =>
    LOAD === 'wrk'
      ? await wrk(seconds, base, lua, [`${basePath}put_small/`, String(cfg.smallBytes), tag])
      : await nodeLoad(seconds, (i, k) => ({ method: 'PUT', path: `put_small/${tag}${i}_${pad(k, 7)}.bin`, body }));
  if (cfg.warmup) await run(cfg.warmup, 'w');
  resetPeak();
  const r = await run(cfg.duration, 'm');
  const check = await request('GET', `put_small/m1_${pad(10, 7)}.bin`);
  if (check.status !== 200 || check.bytes !== cfg.smallBytes) note(`put_small: GET of a written file -> ${check.status}, ${check.bytes} bytes`);
  emit('put_small', r.rps, 'req/s');
  emit('put_small_errors', r.errors, 'count');
  peakOf('put_small');
};

const LOCK_BODY = Buffer.from(
  '<?xml version="1.0" encoding="utf-8"?>\n<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
    '<D:locktype><D:write/></D:locktype><D:owner><D:href>bench</D:href></D:owner></D:lockinfo>',
);
async function lockCycles(name, clients, seconds) {
  let cycles = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const path = `locks/l${i}.txt`;
      for (let n = 0; performance.now() < deadline; n++) {
        const lock = await request('LOCK', path, { headers: { 'Content-Type': 'application/xml; charset=utf-8', Depth: '0', Timeout: 'Second-60' }, body: LOCK_BODY });
        const token = String(lock.headers?.['lock-token'] ?? '');
        if (lock.status < 200 || lock.status > 299 || !token) {
          errors++;
          continue;
        }
        const put = await request('PUT', path, { headers: { 'Content-Type': 'text/plain', If: `(${token})` }, body: Buffer.from(`cycle ${i} ${n}\n`) });
        const unlock = await request('UNLOCK', path, { headers: { 'Lock-Token': token } });
        const ok = put.status >= 200 && put.status < 300 && unlock.status >= 200 && unlock.status < 300;
        if (ok) cycles++;
        else errors += (put.status >= 300 || put.status < 200 ? 1 : 0) + (unlock.status >= 300 || unlock.status < 200 ? 1 : 0);
      }
    }),
  );
  emit(name, cycles / ((performance.now() - t0) / 1000), 'cycles/s');
  emit(`${name}_errors`, errors, 'count');
}
W.lock_cycle = async () => {
  resetPeak();
  await lockCycles('lock_cycle_1c', 1, cfg.lock1Seconds);
  await lockCycles('lock_cycle', cfg.lockClients, cfg.lockSeconds);
  peakOf('lock_cycle');
  if (linux) emit('loaded_rss', status('VmRSS'), 'MiB');
};

const PF_BODY = Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>');
async function propfindSeries(name, path, depth, want, repeats = cfg.pfRepeats) {
  resetPeak();
  const times = [];
  let last;
  for (let i = 0; i < repeats; i++) {
    last = await request('PROPFIND', path, { headers: { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' }, body: PF_BODY, sink: i === repeats - 1 });
    if (last.status !== 207) break;
    times.push(last.ms);
  }
  const entries = (last.body.match(/<D:response>/g) || []).length;
  if (last.status !== 207) note(`${name}: HTTP ${last.status}`);
  else if (entries !== want) note(`${name}: ${entries} responses, expected ${want}`);
  emit(name, median(times), 'ms');
  emit(`${name}_bytes`, last.bytes, 'bytes');
  peakOf(name);
}
W.propfind_d1_10k = () => propfindSeries('propfind_d1_10k', 'pf10k/', '1', cfg.pfFiles + 1);
/** A folder of `n` small files made now (workloads that not every run asks for make their own). */
function bigFolder(name, n) {
  mkdirSync(join(dir, name), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, name, `f${pad(i, 6)}.txt`), `${name} ${i}\n`);
}
W.propfind_d1_100k = async () => {
  bigFolder('pf100k', cfg.pf100kFiles);
  await settle();
  // at most twice: each answer is ~70 MB, and the last one is kept to count its entries
  await propfindSeries('propfind_d1_100k', 'pf100k/', '1', cfg.pf100kFiles + 1, Math.min(cfg.pfRepeats, 2));
  rmSync(join(dir, 'pf100k'), { recursive: true, force: true });
};
W.propfind_gzip = async () => {
  resetPeak();
  const headers = { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' };
  const plain = [];
  const gz = [];
  let plainBytes = 0;
  let gzBytes = 0;
  for (let i = 0; i < cfg.pfRepeats; i++) {
    const a = await request('PROPFIND', 'pf10k/', { headers, body: PF_BODY });
    const b = await request('PROPFIND', 'pf10k/', { headers: { ...headers, 'Accept-Encoding': 'gzip' }, body: PF_BODY });
    if (a.status !== 207 || b.status !== 207) {
      note(`propfind_gzip: HTTP ${a.status} / ${b.status}`);
      break;
    }
    if (b.headers['content-encoding'] !== 'gzip') note('propfind_gzip: the answer was not gzip-coded');
    plain.push(a.ms);
    gz.push(b.ms);
    plainBytes = a.bytes;
    gzBytes = b.bytes;
  }
  emit('propfind_gzip', median(gz), 'ms');
  emit('propfind_gzip_bytes', gzBytes, 'bytes');
  emit('propfind_gzip_smaller', plainBytes / gzBytes, 'x');
  emit('propfind_gzip_time_ratio', median(gz) / median(plain), 'x');
  peakOf('propfind_gzip');
};
W.page_2k = async () => {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    note('page_2k: playwright-core is not installed (npm install): skipped');
    return;
  }
  const exe = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(exe)) {
    note(`page_2k: no Chromium at ${exe} (Debian: apt-get install chromium; or CHROMIUM_PATH): skipped`);
    return;
  }
  bigFolder('page2k', cfg.pageFiles);
  await settle();
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const context = await browser.newContext(AUTH.Authorization ? { httpCredentials: { username: 'bench', password: 'bench pw' } } : {});
    const page = await context.newPage();
    const ready = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(new URL('page2k/', base).href);
      await page.waitForFunction(() => performance.getEntriesByName('dav-ready').length > 0, null, { timeout: 30_000 });
      ready.push(await page.evaluate(() => performance.getEntriesByName('dav-ready')[0].startTime));
    }
    const rows = await page.evaluate(() => document.querySelectorAll('tr.entry').length);
    if (rows === 0) note('page_2k: the page shows no rows');
    emit('page_2k', median(ready), 'ms');
    emit('page_2k_best', Math.min(...ready), 'ms');
  } finally {
    await browser.close();
    rmSync(join(dir, 'page2k'), { recursive: true, force: true });
  }
};
W.propfind_dinf_tree = () => propfindSeries('propfind_dinf_tree', 'tree/', 'infinity', 1 + cfg.treeDirs * (1 + cfg.treeFiles));

W.copy_move = async () => {
  resetPeak();
  const ct = [];
  const mt = [];
  const dt = [];
  for (let r = 1; r <= cfg.ctRepeats; r++) {
    const c = await request('COPY', 'ct/', { headers: { Destination: `${base}ct_copy_${r}/`, Depth: 'infinity', Overwrite: 'F' } });
    if (c.status === 201) ct.push(c.ms);
    else note(`copy_tree: HTTP ${c.status}`);
    const m = await request('MOVE', `ct_copy_${r}/`, { headers: { Destination: `${base}ct_moved_${r}/`, Overwrite: 'F' } });
    if (m.status === 201) mt.push(m.ms);
    else note(`move_tree: HTTP ${m.status}`);
    const d = await request('DELETE', `ct_moved_${r}/`);
    if (d.status === 204) dt.push(d.ms);
    else note(`delete_tree: HTTP ${d.status}`);
  }
  emit('copy_tree', median(ct), 'ms');
  emit('move_tree', median(mt), 'ms');
  emit('delete_tree', median(dt), 'ms');
  peakOf('copy_move');
};

/**
 * Waits (at most 10 s) until the server has used under 5% of a core for 200 ms: work a workload
 * left behind (the checksums of the last large upload are computed after it was answered) is
 * not charged to the next one. Reported when it had to wait.
 */
async function settle() {
  if (!linux) return;
  const cpu = () => {
    const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (USER_HZ, 100 here)
  };
  const t0 = performance.now();
  let last = cpu();
  while (performance.now() - t0 < 10_000) {
    await sleep(200);
    const now = cpu();
    if (now - last <= 1) break;
    last = now;
  }
  const waited = performance.now() - t0;
  if (waited > 450) note(`waited ${Math.round(waited)} ms for the server to be idle`);
}

// ---- run ---------------------------------------------------------------------------------------
let failed = false;
try {
  note(`bench: ${parent} (${work}), load generator ${LOAD_NOTE}, ${JSON.stringify(cfg)}`);
  fixtures();
  await startServer();
  await sleep(300);
  if (linux) emit('idle_rss', status('VmRSS'), 'MiB');
  for (const w of WORKLOADS) {
    if (!W[w]) {
      note(`unknown workload ${w}`);
      continue;
    }
    if (server.exitCode !== null) throw new Error(`server died before ${w}`);
    await settle();
    await W[w]();
  }
  if (linux) emit('peak_rss', Math.max(peakMib, status('VmHWM')), 'MiB');
} catch (e) {
  failed = true;
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
} finally {
  agent.destroy();
  stopServer();
  rmSync(work, { recursive: true, force: true });
}

const w1 = Math.max(...results.map((r) => r.name.length), 8);
const w2 = Math.max(...results.map((r) => String(r.value).length), 5);
console.log(`\n| ${'workload'.padEnd(w1)} | ${'value'.padStart(w2)} | unit |\n|${'-'.repeat(w1 + 2)}|${'-'.repeat(w2 + 1)}:|------|`);
for (const r of results) console.log(`| ${r.name.padEnd(w1)} | ${String(r.value).padStart(w2)} | ${r.unit} |`);
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ config: cfg, load: LOAD, results }, null, 2));
process.exit(failed ? 1 : 0);
