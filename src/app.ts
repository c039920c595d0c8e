/**
 * createApp(options): the Koa application and its services. One request flows
 * errors -> resolve path -> method handler; handlers talk to the StorageBackend, the
 * PropertyStore it carries, and the LockManager.
 */
import Koa from 'koa';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { resolveOptions, type ServerOptions } from './config.js';
import type { DavContext, DavState, Handler, Services } from './context.js';
import { DavError } from './errors.js';
import { errors, type ErrorLogger } from './middleware/errors.js';
import { resolvePath } from './middleware/resolve-path.js';
import { cors } from './middleware/cors.js';
import { createAuth } from './middleware/auth.js';
import { limits } from './middleware/limits.js';
import { ContainedFsBackend } from './storage/fs/contained.js';
import { createListener, scheme } from './tls.js';
import { FsBackend } from './storage/fs/backend.js';
import type { LockManager } from './locks/manager.js';
import { MemoryLockManager } from './locks/memory.js';
import { FileLockManager } from './locks/file.js';
import { RedisLockManager } from './locks/redis.js';
import { isRedisUrl } from './config.js';
import { ALLOWED_METHODS, options as optionsHandler } from './methods/options.js';
import { get } from './methods/get.js';
import { put } from './methods/put.js';
import { del } from './methods/delete.js';
import { mkcol } from './methods/mkcol.js';
import { copy, move } from './methods/copy-move.js';
import { propfind } from './methods/propfind.js';
import { proppatch } from './methods/proppatch.js';
import { lock, unlock } from './methods/lock.js';

const HANDLERS: Record<string, Handler> = {
  OPTIONS: optionsHandler,
  GET: get,
  HEAD: get,
  PUT: put,
  DELETE: del,
  MKCOL: mkcol,
  COPY: copy,
  MOVE: move,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  LOCK: lock,
  UNLOCK: unlock,
};

/** Methods HTTP defines that we do not serve here: 405 with Allow rather than 501. */
const KNOWN_UNSUPPORTED = new Set(['POST', 'PATCH', 'TRACE', 'CONNECT', 'SEARCH', 'REPORT', 'ACL', 'BIND', 'MKCALENDAR', 'VERSION-CONTROL']);

export interface DavApp {
  app: Koa<DavState>;
  services: Services;
  /** Flushes and closes the lock store. */
  close(): Promise<void>;
}

const defaultLog: ErrorLogger = (err, ctx) => {
  console.error(`[error] ${ctx.method} ${ctx.url}:`, err);
};

async function createLockManager(o: ServerOptions, storage: FsBackend): Promise<LockManager> {
  if (o.lockStore === 'memory') return new MemoryLockManager();
  if (isRedisUrl(o.lockStore)) {
    const r = new RedisLockManager({ url: o.lockStore });
    await r.init();
    return r;
  }
  const file = o.lockStore === 'file' ? join(storage.metaDir, 'locks.json') : o.lockStore.slice('file:'.length);
  const m = new FileLockManager(file);
  await m.init();
  return m;
}

export async function createApp(partial: Partial<ServerOptions>, hooks: { log?: ErrorLogger } = {}): Promise<DavApp> {
  const options = resolveOptions(partial);
  const storage = new ContainedFsBackend({ root: options.root });
  await storage.init();
  const locks = await createLockManager(options, storage);
  const services: Services = { options, storage, locks };
  const auth = await createAuth(options, services, storage);

  const app = new Koa<DavState>();
  app.silent = true;
  app.use(errors(hooks.log ?? defaultLog));
  app.use(async (ctx: DavContext, next) => {
    ctx.state.services = services;
    await next();
  });
  app.use(cors(options));
  app.use(auth);
  app.use(limits(options));
  app.use(resolvePath);
  app.use(async (ctx: DavContext) => {
    const handler = HANDLERS[ctx.method];
    if (!handler) {
      throw KNOWN_UNSUPPORTED.has(ctx.method)
        ? new DavError(405, 'Method not allowed', { headers: { Allow: ALLOWED_METHODS } })
        : new DavError(501, 'Method not implemented');
    }
    await handler(ctx);
  });

  return {
    app,
    services,
    close: async () => {
      await locks.close();
    },
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  dav: DavApp;
  close(): Promise<void>;
}

/** Creates the app and listens; resolves once the port is bound. */
export async function startServer(partial: Partial<ServerOptions>, hooks: { log?: ErrorLogger } = {}): Promise<RunningServer> {
  const dav = await createApp(partial, hooks);
  const { host, port, prefix } = dav.services.options;
  const server = createListener(dav.services.options, dav.app.callback());
  server.keepAliveTimeout = 10_000;
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
    url: `${scheme(dav.services.options)}://${shownHost}:${bound}${prefix}/`,
    port: bound,
    dav,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await dav.close();
    },
  };
}
