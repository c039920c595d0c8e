/**
 * A reverse proxy for tests, in front of the server under test: it refuses request bodies over
 * `maxBody` bytes like Cloudflare's 100 MB cap (413 for a larger Content-Length before any byte
 * is forwarded; a chunked body is cut at the cap), counts every request-body byte that reaches
 * it, and can drop a connection (client and server side) once a number of body bytes went by.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestProxy {
  base: string;
  /** Request-body bytes received from clients, in all. */
  bodyBytes: number;
  /** Largest request body forwarded whole. */
  largestBody: number;
  /** Requests refused with 413. */
  refused: number;
  /** Every request: method, path, Upload-Offset, body bytes seen, status answered (0: cut). */
  log: { method: string; url: string; offset?: string; bytes: number; status: number }[];
  /** Drops the connection of the request that is under way once `n` more body bytes arrived. */
  cutAfter(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(target: string, maxBody: number): Promise<TestProxy> {
  const t = new URL(target);
  let cut: { at: number; done: () => void } | null = null;
  const stats = { bodyBytes: 0, largestBody: 0, refused: 0 };
  const log: TestProxy['log'] = [];
  const tooLarge = (res: ServerResponse): void => {
    stats.refused++;
    res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end(`Request body larger than ${maxBody} bytes\n`);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry = { method: req.method ?? '', url: req.url ?? '', offset: req.headers['upload-offset'] as string | undefined, bytes: 0, status: 0 };
    log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBody) {
      tooLarge(res);
      req.resume();
      return;
    }
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    let seen = 0;
    req.on('data', (c: Buffer) => {
      seen += c.length;
      entry.bytes = seen;
      stats.bodyBytes += c.length;
      if (seen > maxBody) {
        up.destroy();
        req.unpipe(up);
        tooLarge(res);
        return;
      }
      if (cut && stats.bodyBytes >= cut.at) {
        const done = cut.done;
        cut = null;
        req.socket.destroy();
        up.destroy();
        done();
      }
    });
    req.on('end', () => (stats.largestBody = Math.max(stats.largestBody, seen)));
    req.on('aborted', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    get bodyBytes() {
      return stats.bodyBytes;
    },
    get largestBody() {
      return stats.largestBody;
    },
    get refused() {
      return stats.refused;
    },
    log,
    cutAfter: (n) => new Promise<void>((done) => (cut = { at: stats.bodyBytes + n, done })),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
