/**
 * Access and error logs of the compiled server: one line per request (text or JSON lines),
 * X-Request-Id on every response and in every line about the request, credentials never logged,
 * --quiet silent on stdout.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { cliPath, makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';

const SECRET = 'c2VjcmV0LXVzZXI6aHVudGVyMg=='; // base64 of secret-user:hunter2
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The lines after the banner, once `n` of them have arrived. */
async function logLines(srv: CliServer, n: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const lines = srv.output().split('\n').filter((l) => l && !/^(WebDAV server listening|Serving )/.test(l));
    if (lines.length >= n) return lines;
    await sleep(20);
  }
  throw new Error(`expected ${n} log lines, got:\n${srv.output()}`);
}

describe('operations: access and error logs', function () {
  this.timeout(30_000);
  let root: string;
  let srv: CliServer | undefined;

  beforeEach(async () => {
    root = await makeTempDir('logs');
  });
  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('writes one text line per request with method, path, status, bytes, duration, user agent and request id', async () => {
    srv = await spawnCli(['--root', root, '--port', '0']);
    const put = await request(srv.base, 'PUT', '/a%20b.txt', { body: 'hello', headers: { 'User-Agent': 'Tester/1.0 "quoted"', Authorization: `Basic ${SECRET}` } });
    expect(put.status).to.equal(201);
    const get = await request(srv.base, 'GET', '/a%20b.txt?token=abc', { headers: { 'X-Request-Id': 'client-chosen.42' } });
    expect(get.headers['x-request-id']).to.equal('client-chosen.42');
    const list = await request(srv.base, 'PROPFIND', '/', { headers: { Depth: '1' } });
    const [l1, l2, l3] = await logLines(srv, 3);
    const id = String(put.headers['x-request-id']);
    expect(id).to.match(/^[0-9a-f]{6}-[0-9a-z]+$/);
    expect(l1).to.match(new RegExp(`"PUT /a%20b\\.txt" 201 0 [0-9.]+ms "Tester/1\\.0 \\\\"quoted\\\\"" id=${id}$`));
    expect(l2, l2).to.match(/"GET \/a%20b\.txt" 200 5 [0-9.]+ms - id=client-chosen\.42$/);
    expect(l2, 'the query string is not logged').to.not.include('token=abc');
    expect(l3).to.match(new RegExp(`"PROPFIND /" 207 \\d+ `));
    expect(Number(/" 207 (\d+) /.exec(l3!)![1])).to.be.at.least(list.raw.length);
    expect(srv.output()).to.not.include(SECRET);
    expect(srv.output()).to.not.include('hunter2');
  });

  it('--log-format json writes one JSON object per request', async () => {
    srv = await spawnCli(['--root', root, '--port', '0', '--log-format', 'json']);
    await request(srv.base, 'PUT', '/j.txt', { body: '12345678', headers: { 'User-Agent': 'J/2', Authorization: `Basic ${SECRET}` } });
    const got = await request(srv.base, 'GET', '/j.txt');
    await request(srv.base, 'GET', '/missing');
    const lines = (await logLines(srv, 3)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.method, l.path, l.status])).to.deep.equal([
      ['PUT', '/j.txt', 201],
      ['GET', '/j.txt', 200],
      ['GET', '/missing', 404],
    ]);
    expect(lines[0]).to.include({ ua: 'J/2', user: null, bytes: 0 });
    expect(lines[1]).to.include({ bytes: 8, id: got.headers['x-request-id'] });
    for (const l of lines) {
      expect(l.ms).to.be.a('number');
      expect(Date.parse(String(l.time))).to.not.be.NaN;
    }
    expect(srv.output()).to.not.include(SECRET);
  });

  it('logs an unexpected error with the request id it sends back in X-Request-Id', async () => {
    // The dead-property file of /loop.txt is a symlink loop: reading it fails with ELOOP, an fs
    // error with no WebDAV meaning, hence a 500. (A loop in the served tree itself is a link
    // that leads nowhere, which the containment check answers with 403.)
    await fsp.writeFile(join(root, 'loop.txt'), 'x');
    await fsp.mkdir(join(root, '.davmeta', 'props', 'root.d'), { recursive: true });
    await fsp.symlink('loop.txt.p', join(root, '.davmeta', 'props', 'root.d', 'loop.txt.p'));
    const body = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>';
    for (const format of ['text', 'json']) {
      srv = await spawnCli(['--root', root, '--port', '0', '--log-format', format]);
      const res = await request(srv.base, 'PROPPATCH', '/loop.txt', { body, headers: { Authorization: `Basic ${SECRET}` } });
      expect(res.status).to.equal(500);
      const id = String(res.headers['x-request-id']);
      expect(res.body).to.include(id);
      const errLine = (await logLines(srv, 2)).find((l) => l.includes('ELOOP'));
      expect(errLine, srv.output()).to.be.a('string');
      if (format === 'json') expect(JSON.parse(errLine!)).to.include({ level: 'error', id, method: 'PROPPATCH', path: '/loop.txt' });
      else expect(errLine).to.include(`[error] id=${id} PROPPATCH /loop.txt`);
      expect(srv.output()).to.not.include(SECRET);
      await srv.stop();
      srv = undefined;
    }
  });

  it('--quiet prints nothing on stdout: no banner, no access log', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const proc = spawn(process.execPath, [cliPath, '--root', root, '--port', String(port), '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      let status = 0;
      for (let i = 0; i < 100 && status === 0; i++) {
        status = await request(`http://127.0.0.1:${port}`, 'PUT', '/q.txt', { body: 'q' }).then(
          (r) => r.status,
          async () => (await sleep(50), 0),
        );
      }
      expect(status).to.equal(201);
      expect((await request(`http://127.0.0.1:${port}`, 'GET', '/q.txt')).status).to.equal(200);
      await sleep(100);
      expect(out).to.equal('');
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });
});
