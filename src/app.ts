/**
 * createApp(options): the Koa application and its services. One request flows
 * errors -> resolve path -> method handler; handlers talk to the StorageBackend, the
 * PropertyStore it carries, and the LockManager.
 */
import Koa from 'koa';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { resolveOptions, type ServerOptions } from './config.js';
import type { DavContext, DavState, Handler, Services } from './context.js';
import { DavError } from './errors.js';
import { errors, isClientGone, type ErrorLogger } from './middleware/errors.js';
import { resolvePath } from './middleware/resolve-path.js';
import { rightsMiddleware } from './middleware/rights.js';
import { cors } from './middleware/cors.js';
import { createAuth } from './middleware/auth.js';
import { limits } from './middleware/limits.js';
import { absoluteTarget } from './middleware/absolute-target.js';
import { osJunk } from './middleware/os-junk.js';
import { handleClientError } from './middleware/client-error.js';
import { davRoutes, type FeatureRoutes } from './routes/index.js';
import { createStorage } from './storage/create.js';
import { createListener, scheme } from './tls.js';
import { META_DIR, type SweepReport } from './storage/fs/backend.js';
import { TreeEvents } from './storage/events.js';
import { propsFollowTree } from './storage/props-follow.js';
import { locksFollowTree } from './locks/follow.js';
import { createStateStore } from './state/index.js';
import type { Defender } from './auth/defender.js';
import { createLogger, requestLog, type Logger } from './middleware/log.js';
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

async function dispatch(ctx: DavContext): Promise<void> {
  const handler = HANDLERS[ctx.method];
  if (!handler) {
    throw KNOWN_UNSUPPORTED.has(ctx.method)
      ? new DavError(405, 'Method not allowed', { headers: { Allow: ALLOWED_METHODS } })
      : new DavError(501, 'Method not implemented');
  }
  await handler(ctx);
}

export interface DavApp {
  app: Koa<DavState>;
  services: Services;
  /** Flushes and closes the lock store. */
  close(): Promise<void>;
  /** The start-up sweep of temp files left by interrupted writes (runs in the background). */
  sweep: Promise<SweepReport | null>;
  logger: Logger;
  /** The tree-event bus: subscribe to follow every change of the tree (src/storage/events.ts). */
  events: TreeEvents;
  /** Failed-login counters and bans (null without --htpasswd). */
  defender: Defender | null;
}

export interface AppHooks {
  /** Receives unexpected errors (default: the logger's error line, with the request id). */
  log?: ErrorLogger;
  /** Replaces the access/error logger built from the options. */
  logger?: Logger;
  /** Route features added after the built-in ones under `<prefix>/.dav/` (tests). */
  routes?: FeatureRoutes[];
}

/** The lock store named by the options (its location never depends on the storage backend). */
async function createLockManager(o: ServerOptions): Promise<LockManager> {
  // A tree held in memory keeps its locks in memory too, unless a store is named explicitly.
  if (o.lockStore === 'memory' || (o.storage === 'memory' && o.lockStore === 'file')) return new MemoryLockManager();
  if (isRedisUrl(o.lockStore)) {
    const r = new RedisLockManager({ url: o.lockStore });
    await r.init();
    return r;
  }
  const file = o.lockStore === 'file' ? join(o.root, META_DIR, 'locks.json') : o.lockStore.slice('file:'.length);
  const m = new FileLockManager(file);
  await m.init();
  return m;
}

export async function createApp(partial: Partial<ServerOptions>, hooks: AppHooks = {}): Promise<DavApp> {
  const options = resolveOptions(partial);
  const startedAt = Date.now();
  const store = await createStorage(options);
  const { storage } = store;
  const logger = hooks.logger ?? createLogger({ format: options.logFormat === 'json' ? 'json' : 'text', access: !options.quiet });
  const locks = await createLockManager(options);
  const state = await createStateStore(options, join(options.root, META_DIR));
  // Side data follows the tree: every write publishes what it changed, and the dead-property
  // store and the lock manager keep themselves in step (src/storage/events.ts).
  const events = new TreeEvents((err, name) => logger.error(Object.assign(new Error(`tree event listener ${name} failed: ${(err as Error)?.message ?? String(err)}`), { cause: err })));
  events.subscribe(propsFollowTree(storage.props), 'dead properties');
  events.subscribe(locksFollowTree(locks), 'locks');
  const services: Services = { options, storage, locks, events, state };
  const auth = await createAuth(options, services, state);

  const app = new Koa<DavState>();
  app.silent = true;
  const logError: ErrorLogger = hooks.log ?? ((err, ctx) => logger.error(err, ctx));
  app.use(errors(logError));
  // Errors after the headers went out (a streamed body failing) reach Koa, not our middleware.
  app.on('error', (err: unknown, ctx?: DavContext) => {
    if (ctx && !isClientGone(err)) logError(err, ctx);
  });
  app.use(absoluteTarget);
  app.use(requestLog(logger));
  app.use(async (ctx: DavContext, next) => {
    ctx.state.services = services;
    await next();
  });
  app.use(cors(options));
  const requestLimits = limits(options);
  // The server's own endpoints (`<prefix>/.dav/`): public routes answer here, the others run auth first.
  const routeDeps = { services, dispatch, defender: auth.defender, spaces: auth.spaces, appPasswords: auth.appPasswords };
  app.use(davRoutes(routeDeps, { auth: auth.middleware, limits: requestLimits }, hooks.routes));
  app.use(auth.middleware);
  app.use(requestLimits);
  app.use(resolvePath);
  app.use(osJunk);
  app.use(rightsMiddleware);
  app.use(dispatch);

  // Temp files of uploads cut short by a crash: removed in the background, never listed meanwhile.
  const sweep = store.sweep(startedAt).then(
    (r) => {
      if (r?.removed && !options.quiet) process.stdout.write(`Removed ${r.removed} stale temp file(s) of interrupted writes\n`);
      return r;
    },
    () => null,
  );

  return {
    app,
    services,
    sweep,
    logger,
    events,
    defender: auth.defender,
    close: async () => {
      // The sweep is not awaited: stopping it half way only leaves work for the next start.
      await Promise.all([locks.close(), state.close()]);
      await store.close();
    },
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  dav: DavApp;
  /** Stops at once: drops open connections, flushes the lock store. */
  close(): Promise<void>;
  /**
   * Graceful stop: stops accepting, lets requests in flight finish for up to `graceMs`, then
   * closes what is left and flushes the lock store. Resolves with the number of connections
   * that were still busy and had to be cut.
   */
  shutdown(graceMs: number): Promise<number>;
}

/** Creates the app and listens; resolves once the port is bound. */
export async function startServer(partial: Partial<ServerOptions>, hooks: AppHooks = {}): Promise<RunningServer> {
  const dav = await createApp(partial, hooks);
  const { host, port, prefix, headersTimeout, requestTimeout, idleTimeout } = dav.services.options;
  // Slow-loris guards: headers must arrive within headersTimeout, a whole request within
  // requestTimeout (0: none, big uploads may take long), and no connection may sit silent
  // mid-request for longer than idleTimeout. Timeouts are checked every second.
  const server = createListener(dav.services.options, dav.app.callback(), {
    headersTimeout: headersTimeout * 1000,
    requestTimeout: requestTimeout * 1000,
    connectionsCheckingInterval: 1000,
  });
  server.on('clientError', handleClientError);
  server.keepAliveTimeout = 10_000;
  server.timeout = idleTimeout * 1000;
  // Responses not yet started when a graceful stop begins say `Connection: close`, so keep-alive
  // clients do not send another request on a connection that is about to go.
  const pending = new Set<ServerResponse>();
  let draining = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
    else {
      pending.add(res);
      res.once('close', () => pending.delete(res));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listen, an accept() failure (EMFILE/ENFILE: out of file descriptors) is reported here;
  // without a listener it would crash the process. Node retries accepting on its own.
  server.on('error', (err) => dav.logger.error(err));
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
    shutdown: async (graceMs) => {
      let cut = 0;
      draining = true;
      for (const res of pending) if (!res.headersSent) res.setHeader('Connection', 'close');
      pending.clear();
      await new Promise<void>((r) => {
        server.close(() => r());
        // Connections go idle as their requests finish; close them as they do.
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const force = setTimeout(() => {
          server.getConnections((_e, n) => {
            cut = n;
            server.closeAllConnections();
          });
        }, graceMs);
        force.unref();
        server.once('close', () => {
          clearInterval(idle);
          clearTimeout(force);
        });
        server.closeIdleConnections();
      });
      await dav.close();
      return cut;
    },
  };
}
