/**
 * Assertion helpers for WebDAV response bodies: a parsed 207 multistatus (href -> propstats)
 * and DAV:error bodies. Parsing goes through the server's namespace-aware parser, which
 * test/unit/xml/parse.test.ts checks on its own.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join as joinFs } from 'node:path';
import { parseXml, childElements, findChild, textContent, type XmlElement } from '../../src/xml/parse.js';
import { lockBody, repoRoot, type Res, type TestServer } from './server.js';

export const DAV = 'DAV:';

export interface Propstat {
  status: number;
  props: XmlElement[];
  error?: XmlElement;
}

export interface MsResponse {
  href: string;
  status?: number;
  propstats: Propstat[];
  error?: XmlElement;
}

const statusOf = (el: XmlElement | undefined): number => {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(textContent(el!).trim());
  if (!m) throw new Error(`bad status line: ${el && textContent(el)}`);
  return Number(m[1]);
};

/** Parses a 207 body into responses keyed by href (asserts the status and content type). */
export function multistatus(res: Res): Map<string, MsResponse> {
  expect(res.status, res.body).to.equal(207);
  expect(res.headers['content-type']).to.match(/^(application|text)\/xml/);
  const root = parseXml(res.body);
  expect(root.ns).to.equal(DAV);
  expect(root.local).to.equal('multistatus');
  const out = new Map<string, MsResponse>();
  for (const r of childElements(root)) {
    expect(r.local).to.equal('response');
    const href = textContent(findChild(r, DAV, 'href')!).trim();
    const st = findChild(r, DAV, 'status');
    const entry: MsResponse = {
      href,
      propstats: childElements(r)
        .filter((e) => e.ns === DAV && e.local === 'propstat')
        .map((ps) => ({ status: statusOf(findChild(ps, DAV, 'status')), props: childElements(findChild(ps, DAV, 'prop')!), error: findChild(ps, DAV, 'error') })),
      error: findChild(r, DAV, 'error'),
    };
    if (st) entry.status = statusOf(st);
    expect(out.has(href), `href ${href} listed twice`).to.equal(false);
    out.set(href, entry);
  }
  return out;
}

/** The one response of a Depth 0 multistatus. */
export function single(res: Res): MsResponse {
  const all = multistatus(res);
  expect(all.size, res.body).to.equal(1);
  return [...all.values()][0]!;
}

/** Property element and the status of its propstat; undefined when not present. */
export function prop(r: MsResponse, ns: string, local: string): { status: number; el: XmlElement } | undefined {
  for (const ps of r.propstats) for (const p of ps.props) if (p.ns === ns && p.local === local) return { status: ps.status, el: p };
  return undefined;
}

/** Text value of a property found with status 200 (fails otherwise). */
export function propText(r: MsResponse, ns: string, local: string): string {
  const p = prop(r, ns, local);
  expect(p, `{${ns}}${local} in ${r.href}`).to.not.equal(undefined);
  expect(p!.status).to.equal(200);
  return textContent(p!.el);
}

/** Names of every property in the propstat with `status`. */
export function propNames(r: MsResponse, status: number): string[] {
  return r.propstats.filter((p) => p.status === status).flatMap((p) => p.props.map((e) => `{${e.ns}}${e.local}`));
}

/**
 * Asserts a `<D:error>` body with exactly one condition element `condition`; returns the hrefs
 * inside it.
 */
export function davError(res: Res, status: number, condition: string): string[] {
  expect(res.status, res.body).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/xml/);
  const root = parseXml(res.body);
  expect(root.ns).to.equal(DAV);
  expect(root.local).to.equal('error');
  const kids = childElements(root);
  expect(kids.map((k) => `{${k.ns}}${k.local}`)).to.deep.equal([`{DAV:}${condition}`]);
  return childElements(kids[0]!).map((h) => {
    expect(h.ns).to.equal(DAV);
    expect(h.local).to.equal('href');
    return textContent(h).trim();
  });
}

export { childElements, findChild, textContent };

/** PUT that must succeed (201 or 204). */
export async function putOk(s: TestServer, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Res> {
  const r = await s.req('PUT', path, { body, headers });
  expect([201, 204], `PUT ${path}: ${r.status} ${r.body}`).to.include(r.status);
  return r;
}

/** MKCOL that must succeed. */
export async function mkcolOk(s: TestServer, path: string): Promise<void> {
  const r = await s.req('MKCOL', path);
  expect(r.status, `MKCOL ${path}: ${r.body}`).to.equal(201);
}

export interface LockOpts {
  scope?: 'exclusive' | 'shared';
  depth?: '0' | 'infinity';
  timeout?: string;
  owner?: string;
  headers?: Record<string, string>;
}

/** LOCK that must succeed (200 or 201); returns the token (without angle brackets) and the response. */
export async function lockOk(s: TestServer, path: string, o: LockOpts = {}): Promise<{ token: string; res: Res }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/xml', ...(o.headers ?? {}) };
  if (o.depth) headers.Depth = o.depth;
  if (o.timeout) headers.Timeout = o.timeout;
  const res = await s.req('LOCK', path, { body: lockBody(o.scope ?? 'exclusive', o.owner), headers });
  expect([200, 201], `LOCK ${path}: ${res.status} ${res.body}`).to.include(res.status);
  const m = /^<(urn:uuid:[0-9a-f-]{36})>$/.exec(String(res.headers['lock-token']));
  expect(m, `Lock-Token header: ${res.headers['lock-token']}`).to.not.equal(null);
  return { token: m![1]!, res };
}

/** If header submitting `token` for the Request-URI. */
export const ifToken = (token: string): Record<string, string> => ({ If: `(<${token}>)` });

/** Names in a directory that look like upload temp files of earlier versions (never written now). */
export async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.~davtmp-'));
}

/** Files in the staging area of the tree at `root` (uploads and copies in flight, or debris): paths relative to root. */
export async function stagedFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const staging = joinFs(root, '.davmeta', 'staging');
  let owners: string[];
  try {
    owners = await readdir(staging);
  } catch {
    return out;
  }
  for (const o of owners) {
    let names: string[] = [];
    try {
      names = await readdir(joinFs(staging, o));
    } catch {
      continue;
    }
    for (const n of names) if (n !== '.alive') out.push(`.davmeta/staging/${o}/${n}`);
  }
  return out;
}

/**
 * Sends a request whose body is written in `chunks` (chunked transfer encoding unless a
 * Content-Length is given); `abortAfter` destroys the socket after that many chunks.
 */
export function streamRequest(
  s: TestServer,
  method: string,
  path: string,
  chunks: (string | Buffer)[],
  opts: { headers?: Record<string, string | number>; abortAfter?: number; delayMs?: number } = {},
): Promise<Res | 'aborted'> {
  const url = new URL(s.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: opts.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(parts);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
      });
    });
    req.on('error', (e) => (opts.abortAfter !== undefined ? resolve('aborted') : reject(e)));
    void (async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (opts.abortAfter !== undefined && i === opts.abortAfter) {
          await new Promise((r) => setTimeout(r, opts.delayMs ?? 50));
          req.destroy();
          resolve('aborted');
          return;
        }
        req.write(chunks[i]!);
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      }
      req.end();
    })();
  });
}

/** Polls `fn` until it returns true or `ms` pass. */
export async function eventually(fn: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

let built: Promise<void> | undefined;
/** Compiles src/ to dist/ once per test run, so CLI tests run the current code even when mocha runs alone. */
export function ensureBuilt(): Promise<void> {
  built ??= new Promise((resolve, reject) => {
    execFile(process.execPath, [joinFs(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', joinFs(repoRoot, 'tsconfig.json')], { cwd: repoRoot }, (err, stdout) =>
      err ? reject(new Error(`tsc failed: ${stdout}`)) : resolve(),
    );
  });
  return built;
}
