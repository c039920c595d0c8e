#!/usr/bin/env node
/**
 * Soak test (run by hand, not in CI): starts the compiled server as a child process over a
 * fresh temp directory, runs a mixed WebDAV load (PUT, GET, PROPFIND, PROPPATCH, COPY, MOVE,
 * DELETE, LOCK/UNLOCK) from N clients for a set time, and reports requests/s, the status
 * counts, transport errors, and the server's RSS at start, middle and end (memory must not grow).
 *
 *   node scripts/soak.mjs [--seconds 300] [--clients 32] [--keep] [-- extra server flags]
 *
 * Exit code 1 when any 5xx or transport error happened, or RSS grew by more than 50%
 * between the first and the last quarter of the run (after warm-up).
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash === -1 ? argv : argv.slice(0, dash);
const serverFlags = dash === -1 ? [] : argv.slice(dash + 1);
const opt = (name, def) => {
  const i = own.indexOf(`--${name}`);
  return i === -1 ? def : own[i + 1];
};
const SECONDS = Number(opt('seconds', 300));
const CLIENTS = Number(opt('clients', 32));
const KEEP = own.includes('--keep');

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'webdav-soak-'));
const server = spawn(process.execPath, [cli, '--root', root, '--port', '0', '--log-format', 'json', ...serverFlags], { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
server.stderr.on('data', (d) => (stderr += d));

const port = await new Promise((resolve, reject) => {
  let out = '';
  const onData = (d) => {
    out += d;
    const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
    if (m) {
      server.stdout.off('data', onData);
      server.stdout.resume(); // access log: drained
      resolve(Number(m[1]));
    }
  };
  server.stdout.on('data', onData);
  server.once('exit', (c) => reject(new Error(`server exited with ${c}: ${stderr}`)));
});

const rssKb = () => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
};

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
const send = (method, path, headers = {}, body) =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
      res.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message }));
    req.end(body);
  });

const counts = new Map();
const count = (k) => counts.set(k, (counts.get(k) ?? 0) + 1);
let total = 0;
let bad = 0;
const record = (method, r) => {
  total++;
  const k = r.status ? `${method} ${r.status}` : `${method} ${r.error}`;
  count(k);
  if (!r.status || r.status >= 500) bad++;
  return r;
};

const files = [];
for (const d of ['', '/a', '/b', '/a/c']) for (let i = 0; i < 16; i++) files.push(`${d}/f${i}.bin`);
for (const d of ['/a', '/b', '/a/c']) await send('MKCOL', d);
const payloads = [0, 100, 4096, 65536, 1 << 20].map((n) => Buffer.alloc(n, 0x61));

const deadline = Date.now() + SECONDS * 1000;
const samples = [];
const sampler = setInterval(() => samples.push({ t: Date.now(), rss: rssKb() }), 1000);
samples.push({ t: Date.now(), rss: rssKb() });
const t0 = Date.now();

async function client(c) {
  let n = 0;
  while (Date.now() < deadline) {
    n++;
    const r = Math.random();
    const f = files[Math.floor(Math.random() * files.length)];
    const g = files[Math.floor(Math.random() * files.length)];
    if (r < 0.3) record('PUT', await send('PUT', f, {}, payloads[Math.floor(Math.random() * payloads.length)]));
    else if (r < 0.6) record('GET', await send('GET', f));
    else if (r < 0.7) record('PROPFIND', await send('PROPFIND', ['/', '/a', '/b', '/a/c'][n % 4], { Depth: '1' }));
    else if (r < 0.75) record('PROPPATCH', await send('PROPPATCH', f, {}, `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:n>${c}-${n}</Z:n></D:prop></D:set></D:propertyupdate>`));
    else if (r < 0.8) record('COPY', await send('COPY', f, { Destination: `http://127.0.0.1:${port}${g}` }));
    else if (r < 0.85) record('MOVE', await send('MOVE', f, { Destination: `http://127.0.0.1:${port}${g}` }));
    else if (r < 0.9) record('DELETE', await send('DELETE', f));
    else {
      const l = record('LOCK', await send('LOCK', f, { Timeout: 'Second-60' }, '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'));
      if (l.status === 200 || l.status === 201) record('UNLOCK', await send('UNLOCK', f, { 'Lock-Token': l.headers['lock-token'] }));
    }
  }
}

const progress = setInterval(() => {
  const s = (Date.now() - t0) / 1000;
  process.stderr.write(`\r${s.toFixed(0)}s  ${(total / s).toFixed(0)} req/s  rss ${(rssKb() / 1024).toFixed(1)} MiB  bad ${bad}   `);
}, 2000);
await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
clearInterval(progress);
clearInterval(sampler);
samples.push({ t: Date.now(), rss: rssKb() });
const secs = (Date.now() - t0) / 1000;
agent.destroy();

// Warm-up excluded: compare the mean RSS of the second quarter with that of the last quarter.
const q = Math.max(1, Math.floor(samples.length / 4));
const mean = (a) => a.reduce((x, s) => x + s.rss, 0) / a.length;
const early = mean(samples.slice(q, 2 * q));
const late = mean(samples.slice(-q));
const growth = late / early - 1;

const exited = new Promise((r) => server.once('exit', r));
server.kill('SIGTERM');
const code = await exited;
if (!KEEP) rmSync(root, { recursive: true, force: true });

const report = {
  seconds: Number(secs.toFixed(1)),
  clients: CLIENTS,
  requests: total,
  requestsPerSecond: Math.round(total / secs),
  serverErrorsOrTransportFailures: bad,
  rssMiB: { start: +(samples[0].rss / 1024).toFixed(1), afterWarmup: +(early / 1024).toFixed(1), end: +(late / 1024).toFixed(1), growthPercent: +(growth * 100).toFixed(1) },
  statuses: Object.fromEntries([...counts].sort()),
  serverExitCode: code,
  serverStderr: stderr.slice(0, 2000),
  root: KEEP ? root : undefined,
};
process.stderr.write('\n');
console.log(JSON.stringify(report, null, 2));
process.exit(bad > 0 || growth > 0.5 || code !== 0 ? 1 : 0);
