/**
 * Graceful shutdown and slow clients, against the compiled server as a child process:
 * SIGTERM stops accepting, lets the upload in flight finish, flushes the lock store and exits 0;
 * an upload that never finishes is cut after --shutdown-timeout; clients that stall their
 * headers or their body are disconnected by the headers and idle timeouts.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { lockBody, makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { stagedFiles } from '../helpers/dav.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Uploads in flight (or their debris): files of the staging area, and legacy temp files beside targets. */
const tempFiles = async (root: string): Promise<string[]> => [...(await fsp.readdir(root)).filter((n) => n.startsWith('.~davtmp-')), ...(await stagedFiles(root))];

/** Starts a PUT and returns the request (to write more) and its eventual status. */
function startPut(base: string, path: string, length: number): { req: ClientRequest; status: Promise<number>; connection: () => string | undefined } {
  const url = new URL(base);
  let req!: ClientRequest;
  let connection: string | undefined;
  const status = new Promise<number>((resolve, reject) => {
    req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path, headers: { 'Content-Length': length, Connection: 'keep-alive' }, agent: false }, (res) => {
      res.resume();
      connection = res.headers.connection;
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  status.catch(() => undefined);
  return { req, status, connection: () => connection };
}

/** Resolves 'refused' when nothing accepts on the port any more, 'open' when something does. */
const probe = (port: string): Promise<'open' | 'refused'> =>
  new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', () => resolve('refused'));
  });

/** Opens a raw connection, writes `text`, and resolves with what came back and how long until close. */
function rawUntilClose(port: string, text: string): Promise<{ data: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let data = '';
    const s = connect(Number(port), '127.0.0.1', () => s.write(text));
    s.on('data', (d) => (data += d.toString()));
    s.once('close', () => resolve({ data, ms: Date.now() - t0 }));
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

describe('reliability: graceful shutdown and timeouts', function () {
  this.timeout(60_000);
  let root: string;
  let srv: CliServer | undefined;

  beforeEach(async () => {
    root = await makeTempDir('shutdown');
  });
  afterEach(async () => {
    await srv?.stop('SIGKILL');
    srv = undefined;
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('SIGTERM: stops accepting, finishes the upload in flight, keeps the locks, exits 0', async () => {
    srv = await spawnCli(['--root', root, '--port', '0']);
    const port = new URL(srv.base).port;
    const lock = await request(srv.base, 'LOCK', '/locked.txt', { body: lockBody(), headers: { Timeout: 'Second-3600' } });
    expect(lock.status).to.equal(201);
    const token = String(lock.headers['lock-token']);

    const body = randomBytes(2 * 1024 * 1024);
    const put = startPut(srv.base, '/big.bin', body.length);
    put.req.write(body.subarray(0, 1024 * 1024));
    await waitFor('the upload to start', async () => (await tempFiles(root)).length === 1);
    const exited = new Promise<number | null>((r) => srv!.proc.once('exit', (code) => r(code)));
    srv.proc.kill('SIGTERM');
    await waitFor('the listener to close', async () => (await probe(port)) === 'refused', 5000);
    expect(srv.proc.exitCode, 'still draining').to.equal(null);
    put.req.end(body.subarray(1024 * 1024));
    expect(await put.status).to.equal(201);
    expect(put.connection(), 'a response finished while draining closes its connection').to.equal('close');
    expect(await exited).to.equal(0);
    expect(srv.output()).to.include('SIGTERM: shutting down');
    expect((await fsp.readFile(join(root, 'big.bin'))).equals(body)).to.equal(true);
    expect(await tempFiles(root)).to.deep.equal([]);

    srv = await spawnCli(['--root', root, '--port', '0']);
    const again = await request(srv.base, 'PROPFIND', '/locked.txt', {
      headers: { Depth: '0' },
      body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>',
    });
    expect(again.body).to.include(token.slice(1, -1));
  });

  it('SIGTERM with an upload that never finishes: cut after --shutdown-timeout, exit 0, no file', async () => {
    srv = await spawnCli(['--root', root, '--port', '0', '--shutdown-timeout', '1']);
    const put = startPut(srv.base, '/stalled.bin', 1024 * 1024);
    put.req.write(randomBytes(64 * 1024));
    await waitFor('the upload to start', async () => (await tempFiles(root)).length === 1);
    const t0 = Date.now();
    expect(await srv.stop('SIGTERM')).to.equal(0);
    expect(Date.now() - t0).to.be.below(8000);
    put.req.destroy();
    await fsp.access(join(root, 'stalled.bin')).then(
      () => expect.fail('a cut upload must not create the file'),
      () => undefined,
    );
    // Whatever temp file the cut left is swept at the next start.
    srv = await spawnCli(['--root', root, '--port', '0']);
    await waitFor('the sweep', async () => (await tempFiles(root)).length === 0);
  });

  it('disconnects a client that never finishes its headers (slow loris)', async () => {
    srv = await spawnCli(['--root', root, '--port', '0', '--headers-timeout', '1']);
    const port = new URL(srv.base).port;
    const loris = rawUntilClose(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    // Meanwhile the server serves others.
    expect((await request(srv.base, 'PUT', '/ok.txt', { body: 'fine' })).status).to.equal(201);
    const r = await loris;
    expect(r.ms).to.be.below(5000);
    expect(r.data === '' || r.data.startsWith('HTTP/1.1 408')).to.equal(true, r.data);
  });

  it('disconnects an upload whose body stalls, and leaves no temp file', async () => {
    srv = await spawnCli(['--root', root, '--port', '0', '--idle-timeout', '1']);
    const port = new URL(srv.base).port;
    const r = await rawUntilClose(port, 'PUT /slow.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a few bytes');
    expect(r.ms).to.be.below(5000);
    await waitFor('the temp file to go', async () => (await tempFiles(root)).length === 0, 3000);
    expect((await request(srv.base, 'GET', '/slow.bin')).status).to.equal(404);
    expect(srv.proc.exitCode).to.equal(null);
  });
});
