/**
 * The admin listener (`--admin-port`, loopback by default): GET /metrics (Prometheus text),
 * /healthz (the process answers) and /readyz (storage writable, lock store reachable; 503
 * otherwise), routed with @koa/router. It is a listener of its own so the WebDAV tree keeps
 * every name, and so it can stay on loopback while WebDAV faces the network. No
 * authentication: keep it on loopback or a private network. On loopback it answers only to
 * loopback names, address literals and --allowed-hosts (421 otherwise): a web page that points
 * its own name at 127.0.0.1 (DNS rebinding) cannot read /metrics or /readyz through the browser.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { isLoopback, parseAllowedHosts } from '../auth/options.js';
import { hostName } from '../middleware/host-check.js';
import type { Readiness } from './health.js';

/** Where the admin listener gets its answers: this process, or the workers of a cluster. */
export interface AdminSource {
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<Readiness>;
}

export interface AdminServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** On a loopback listener, a Host naming anything but loopback, an address or an allowed name is refused. */
function rebindingGuard(listenHost: string, allowedHosts: string | undefined): Koa.Middleware | null {
  const allowed = new Set(parseAllowedHosts(allowedHosts));
  if (!isLoopback(listenHost) || allowed.has('*')) return null;
  return async (ctx, next) => {
    const h = hostName(ctx.get('host'));
    if (h && !isLoopback(h) && !h.endsWith('.localhost') && isIP(h) === 0 && !allowed.has(h)) {
      ctx.status = 421;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'The admin listener answers only to loopback host names (see --allowed-hosts)\n';
      return;
    }
    await next();
  };
}

export function adminApp(source: AdminSource, listenHost = '127.0.0.1', allowedHosts?: string): Koa {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const m = await source.metrics();
    ctx.type = m.contentType;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = m.body;
  });
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = 'ok\n';
  });
  router.get('/readyz', async (ctx) => {
    const r = await source.readiness();
    ctx.status = r.ready ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `${r.ready ? 'ready' : 'not ready'}\n${r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`).join('\n')}\n`;
  });
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      ctx.status = 500;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${(e as Error).message}\n`;
    }
    if (ctx.status === 404 && ctx.body == null) {
      ctx.status = 404; // explicit: Koa turns a default 404 into 200 when a body is set
      ctx.body = 'Not found: the admin listener serves /metrics, /healthz and /readyz\n';
    }
  });
  const guard = rebindingGuard(listenHost, allowedHosts);
  if (guard) app.use(guard);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

export async function startAdmin(host: string, port: number, source: AdminSource, allowedHosts?: string): Promise<AdminServer> {
  const server = createServer(adminApp(source, host, allowedHosts).callback());
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port: bound,
    url: `http://${shownHost}:${bound}/`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
