/**
 * Security test helpers: a served root with a canary file beside it (outside the root) that
 * no request may read or change, a raw-socket HTTP client (so malformed requests go out
 * exactly as written), and the resident memory of a child server.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, request, startTestServer, type ReqOptions, type Res, type TestServer } from '../helpers/server.js';
import type { ServerOptions } from '../../src/config.js';

export const CANARY_TEXT = 'CANARY-SECRET-9f3b1c';

export interface Fortress {
  /** Temp dir holding canary.txt and root/. */
  outer: string;
  /** Directory to serve. */
  root: string;
  canary: string;
  /** Asserts the canary is unchanged and nothing new appeared beside the root. */
  check(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeFortress(label = 'sec'): Promise<Fortress> {
  const outer = await makeTempDir(label);
  const root = join(outer, 'root');
  const canary = join(outer, 'canary.txt');
  await mkdir(root);
  await writeFile(canary, CANARY_TEXT);
  const before = await stat(canary);
  return {
    outer,
    root,
    canary,
    check: async () => {
      expect(await readFile(canary, 'utf8')).to.equal(CANARY_TEXT);
      const now = await stat(canary);
      expect(now.mtimeMs).to.equal(before.mtimeMs);
      expect(now.ino).to.equal(before.ino);
      expect((await readdir(outer)).sort()).to.deep.equal(['canary.txt', 'root']);
    },
    cleanup: () => rm(outer, { recursive: true, force: true }),
  };
}

export interface GuardedServer {
  f: Fortress;
  srv: TestServer;
  port: number;
}

/**
 * The hooks every security suite shares: a fortress whose root `populate` fills, a server over
 * that root, and after each test the canary untouched and the server still answering.
 */
export function guardedServer(label: string, populate?: (f: Fortress) => Promise<void>, opts: Partial<ServerOptions> = {}): GuardedServer {
  const g = {} as GuardedServer;
  before(async () => {
    g.f = await makeFortress(label);
    await populate?.(g.f);
    g.srv = await startTestServer({ ...opts, root: g.f.root });
    g.port = g.srv.running.port;
  });
  after(async () => {
    await g.srv?.close();
    await g.f?.cleanup();
  });
  afterEach(async () => {
    await g.f.check();
    await expectAlive(g.srv.base);
  });
  return g;
}

export interface RawRes {
  status: number | null;
  text: string;
}

/**
 * Writes `data` to a new connection and collects what comes back until the server closes
 * or `timeoutMs` passes. With `destroyAfterWrite` the client hangs up right after writing.
 */
export function raw(port: number, data: string | Buffer, opts: { timeoutMs?: number; destroyAfterWrite?: boolean } = {}): Promise<RawRes> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', finish);
    sock.on('error', finish);
    sock.write(data, () => {
      if (opts.destroyAfterWrite) setTimeout(() => sock.destroy(), 50);
    });
  });
}

/** A raw request line + headers (Connection: close) + optional body. */
export function rawRequest(method: string, path: string, headers: Record<string, string | number> = {}, body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body && !Object.keys(headers).some((k) => /^(content-length|transfer-encoding)$/i.test(k))) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

/** Asserts the server still answers a plain request. */
export async function expectAlive(base: string): Promise<void> {
  const r = await request(base, 'PROPFIND', '/', { headers: { Depth: '0' } });
  expect(r.status, 'server still answers').to.be.oneOf([207, 401]);
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Waits until no upload temp file is left below `dir` (cleanup after an abort is asynchronous). */
export async function expectNoTempFiles(dir: string, waitMs = 3000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = (await readdir(dir, { recursive: true })).filter((n) => String(n).includes('.~davtmp-'));
    if (left.length === 0) return;
    if (Date.now() > deadline) expect(left, 'temp files left behind').to.deep.equal([]);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request from a chosen loopback source address (see ReqOptions.localAddress). */
export const requestFrom = (from: string, base: string, method: string, path: string, opts: ReqOptions = {}): Promise<Res> =>
  request(base, method, path, { ...opts, localAddress: from });

/** Median of some numbers. */
export const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};
