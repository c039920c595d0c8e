/**
 * Guards at the connection level, below Koa: one client cannot hold the server's connections.
 *
 * - Idle connections (`--idle-timeout`): closed when the client is silent, never while the server
 *   itself is still working on a complete request.
 *
 * - Slow request bodies (`--min-body-rate`, `--body-timeout`): a body gets `bodyTimeout`
 *   seconds plus one second per `minBodyRate` bytes received (Apache mod_reqtimeout's rule),
 *   counted only while the server is waiting for the client (not while the server itself is
 *   not reading, e.g. a handler waiting for a lock or a slow disk). Past that the client gets
 *   408 and the connection is closed; the upload is discarded like any interrupted one.
 *   The defaults (20 s, then 500 bytes/s) let a poor mobile link through; a client trickling
 *   bytes to keep a connection open does not get far. The idle timeout still catches silence.
 * - Connections per client address (`--max-client-connections`, IPv6 per /64): past the cap a
 *   new connection gets 429 (plain HTTP) or is closed. Not applied behind --trust-proxy, where
 *   every connection comes from the proxy (cap clients there).
 */
import type { Server, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { ServerOptions } from '../config.js';
import { addressKey } from '../auth/defender.js';

export interface ConnectionStats {
  /** Request bodies cut for being slower than --min-body-rate. */
  slowBodies: number;
  /** Connections refused by --max-client-connections. */
  refusedConnections: number;
}

interface Tracked {
  req: IncomingMessage;
  res: ServerResponse;
  socket: Socket;
  startBytes: number;
  clientMs: number;
  lastCheck: number;
}

const CHECK_MS = 1000;
const TIMEOUT_408 = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 33\r\n\r\nRequest body arrived too slowly.\n';
const TOO_MANY_429 = 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nToo many connections from this client\n';

const hasBody = (req: IncomingMessage): boolean => {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
};

/** Closes a socket after what was written has gone out, and for sure a moment later. */
function closeWith(socket: Socket, text: string | null): void {
  if (text !== null && !socket.destroyed) socket.end(text);
  else socket.destroy();
  setTimeout(() => socket.destroy(), 2000).unref();
}

export function guardConnections(server: Server, o: ServerOptions): ConnectionStats {
  const stats: ConnectionStats = { slowBodies: 0, refusedConnections: 0 };

  // --idle-timeout (server.timeout) is the client's silence: a stalled upload, a reader that
  // stopped, a kept-alive connection nobody uses. A connection is quiet as well while the server
  // works on a request it has whole (hashing a large file, a COPY of a large tree): that silence
  // is the server's own, and closing the connection would drop the answer on the floor. Node
  // closes a timed-out socket itself only when nobody listens to 'timeout'.
  server.on('timeout', (socket: Socket) => {
    const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    const req = res?.req;
    const serverWorking = !!res && !res.writableEnded && !res.destroyed && !res.writableNeedDrain && !!req && (req.complete || socket.isPaused());
    if (!serverWorking) socket.destroy();
  });

  if (o.maxClientConnections > 0 && !o.trustProxy) {
    const open = new Map<string, number>();
    // For HTTPS this is the raw TCP socket, before TLS: nothing readable can be said on it.
    const plain = !o.tlsCert && !(server instanceof TlsServer);
    server.on('connection', (socket: Socket) => {
      const key = addressKey(socket.remoteAddress ?? '');
      const n = (open.get(key) ?? 0) + 1;
      if (n > o.maxClientConnections) {
        stats.refusedConnections++;
        closeWith(socket, plain ? TOO_MANY_429 : null);
        return;
      }
      open.set(key, n);
      socket.once('close', () => {
        const left = (open.get(key) ?? 1) - 1;
        if (left > 0) open.set(key, left);
        else open.delete(key);
      });
    });
  }

  if (o.minBodyRate > 0) {
    const tracked = new Set<Tracked>();
    let timer: NodeJS.Timeout | null = null;
    const graceMs = o.bodyTimeout * 1000;
    const check = (): void => {
      const now = Date.now();
      for (const t of tracked) {
        const { req, res, socket } = t;
        if (req.complete || socket.destroyed) {
          tracked.delete(t);
          continue;
        }
        // Waiting for the client: what arrived is not piling up unread (which pauses the socket).
        if (!socket.isPaused() && req.readableLength < req.readableHighWaterMark) t.clientMs += now - t.lastCheck;
        t.lastCheck = now;
        const allowedMs = graceMs + ((socket.bytesRead - t.startBytes) / o.minBodyRate) * 1000;
        if (t.clientMs > allowedMs) {
          tracked.delete(t);
          stats.slowBodies++;
          closeWith(socket, res.headersSent ? null : TIMEOUT_408);
        }
      }
      if (tracked.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!hasBody(req) || req.complete) return;
      const t: Tracked = { req, res, socket: req.socket, startBytes: req.socket.bytesRead, clientMs: 0, lastCheck: Date.now() };
      tracked.add(t);
      // Let go as soon as the body is in (or the exchange is over), not at the next check: held
      // for up to a second, every PUT's request, response and context outlived two young-
      // generation collections and was promoted (put_small's RSS 144 -> 200 MiB).
      const drop = (): void => void tracked.delete(t);
      req.once('end', drop);
      res.once('close', drop);
      if (!timer) {
        timer = setInterval(check, CHECK_MS);
        timer.unref();
      }
    });
    server.once('close', () => {
      if (timer) clearInterval(timer);
      tracked.clear();
    });
  }
  return stats;
}
