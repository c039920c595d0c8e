/**
 * The admin listener (`--admin-port`, loopback by default): GET /metrics (Prometheus text),
 * /healthz (the process answers) and /readyz (storage writable, lock store reachable; 503
 * otherwise), routed with @koa/router. It is a listener of its own so the WebDAV tree keeps
 * every name, and so it can stay on loopback while WebDAV faces the network. No
 * authentication: keep it on loopback or a private network.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

export function adminApp(source: AdminSource): Koa {
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
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

export async function startAdmin(host: string, port: number, source: AdminSource): Promise<AdminServer> {
  const server = createServer(adminApp(source).callback());
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
