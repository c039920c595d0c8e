/**
 * Test helpers: a real server on an ephemeral port over a fresh temp directory, and a tiny
 * HTTP client (node:http, so any method and any header can be sent as is).
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect } from 'node:net';
import { startServer, type RunningServer } from '../../src/app.js';
import type { ServerOptions } from '../../src/config.js';

export interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  raw: Buffer;
}

export interface ReqOptions {
  headers?: Record<string, string | number>;
  /** A stream is piped (a generated body of any size). */
  body?: string | Buffer | Readable;
  /** Source address (any of 127.0.0.0/8 reaches a loopback server): one test plays several clients. */
  localAddress?: string;
  /** A keep-alive agent; by default every request has its own connection. */
  agent?: Agent;
}

/**
 * One HTTP request (HTTPS when `base` says so; test certificates are self-signed, so not
 * verified); resolves with status, headers and the whole body.
 */
export function request(base: string, method: string, path: string, opts: ReqOptions = {}): Promise<Res> {
  const url = new URL(base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      { host: url.hostname, port: url.port, method, path, headers: { ...(opts.headers ?? {}) }, agent: opts.agent ?? false, localAddress: opts.localAddress, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body instanceof Readable) pipeline(opts.body, req).catch(reject);
    else if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export interface TestServer {
  /** http://127.0.0.1:PORT (no trailing slash, no prefix) */
  base: string;
  /** Served directory on disk. */
  root: string;
  running: RunningServer;
  req(method: string, path: string, opts?: ReqOptions): Promise<Res>;
  close(): Promise<void>;
}

export async function makeTempDir(label = 'dav'): Promise<string> {
  return mkdtemp(join(tmpdir(), `webdav-test-${label}-`));
}

/** Starts the real app in-process over a temp directory (removed on close unless given). */
export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? (await makeTempDir());
  const running = await startServer({ host: '127.0.0.1', port: 0, quiet: true, ...opts, root }, { log: () => undefined });
  const base = `http://127.0.0.1:${running.port}`;
  return {
    base,
    root,
    running,
    req: (method, path, o) => request(base, method, path, o),
    close: async () => {
      await running.close();
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

export const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const cliPath = join(repoRoot, 'dist', 'cli.js');

export interface CliServer {
  proc: ChildProcess;
  url: string;
  base: string;
  output: () => string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the compiled CLI to its exit (for start-up refusals): exit code and all it printed. */
export function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout!.on('data', (d) => (output += d));
    p.stderr!.on('data', (d) => (output += d));
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, output });
    });
  });
}

/** Starts the compiled CLI as a child process and waits for its banner. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliServer> {
  const proc = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (http\S+)/.exec(out);
      if (m) {
        const url = m[1]!;
        resolve({
          proc,
          url,
          base: new URL(url).origin,
          output: () => out,
          stop: async (signal = 'SIGTERM') => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
}

/** Body of a lockinfo request. */
export const lockBody = (scope: 'exclusive' | 'shared' = 'exclusive', owner = '<D:href>mailto:test@example.com</D:href>'): string =>
  `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

/** Sends raw bytes on a fresh connection and resolves with everything the server wrote until it closed. */
export function rawExchange(port: number, text: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString('latin1')));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.write(text);
  });
}

/** The status code of a raw HTTP/1.1 answer (NaN when there is none). */
export const statusOf = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
