/**
 * The server in layers: createServices (options -> storage, lock store, authentication: the one
 * place services are built), createDav (the WebDAV middleware chain over them, which answers
 * every request it is handed), then two ways to serve it: createApp (a Koa app of its own, what
 * the CLI runs; startServer adds the listener) and createWebdav (src/embed.ts: middleware for a
 * host app). One request flows errors -> request log -> cors -> /.dav/ routes -> auth ->
 * limits -> resolve path -> method handler.
 */
import Koa, { type Next } from 'koa';
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
import { createAuth, type Auth, type Identify } from './middleware/auth.js';
import type { StateStore } from './state/store.js';
import { limits } from './middleware/limits.js';
import { absoluteTarget } from './middleware/absolute-target.js';
import { osJunk } from './middleware/os-junk.js';
import { handleClientError } from './middleware/client-error.js';
import { davRoutes, type FeatureRoutes } from './routes/index.js';
import { createStorage, type StorageHandle } from './storage/create.js';
import { createListener, hsts, scheme } from './tls.js';
import { hostCheck } from './middleware/host-check.js';
import { guardConnections, type ConnectionStats } from './middleware/connections.js';
import cluster from 'node:cluster';
import type { ServerMetrics } from './admin/metrics.js';
import { readiness, type Readiness } from './admin/health.js';
import type { AdminServer } from './admin/server.js';
import { META_DIR, type SweepReport } from './storage/fs/backend.js';
import { TreeEvents } from './storage/events.js';
import { propsFollowTree } from './storage/props-follow.js';
import { locksFollowTree } from './locks/follow.js';
import { createStateStore } from './state/index.js';
import { Checksums } from './checksums/service.js';
import { FsChecksumStore, NoChecksumStore } from './checksums/store.js';
import type { Defender } from './auth/defender.js';
import { createLogger, requestLog, type Logger } from './middleware/log.js';
import type { LockManager } from './locks/manager.js';
import { MemoryLockManager } from './locks/memory.js';
import { FileLockManager } from './locks/file.js';
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

type Middleware = (ctx: DavContext, next: Next) => Promise<void>;

export interface AppHooks {
  /** Receives unexpected errors (default: the logger's error line, with the request id). */
  log?: ErrorLogger;
  /** Replaces the access/error logger built from the options. */
  logger?: Logger;
  /** Route features added after the built-in ones under `<prefix>/.dav/` (tests). */
  routes?: FeatureRoutes[];
  /** Who the user is, when a host app authenticates (src/embed.ts); replaces --htpasswd. */
  identify?: Identify;
  /** Keep Prometheus metrics (default: when --admin-port is set). */
  metrics?: boolean;
}

/** The WebDAV server without a listener: its services and the middleware chain that serves them. */
export interface DavCore {
  services: Services;
  /** The whole middleware chain: answers every request it is handed. */
  handle(ctx: DavContext): Promise<void>;
  /** Flushes and closes the lock store. */
  close(): Promise<void>;
  /** The start-up sweep of temp files left by interrupted writes (runs in the background). */
  sweep: Promise<SweepReport | null>;
  logger: Logger;
  /** Where unexpected errors go (the hooks' log, else the logger's error line). */
  logError: ErrorLogger;
  /** Storage root writable, lock store reachable (what /readyz answers). */
  health(): Promise<Readiness>;
  /** The tree-event bus: subscribe to follow every change of the tree (src/storage/events.ts). */
  events: TreeEvents;
  /** Failed-login counters and bans (null without --htpasswd). */
  defender: Defender | null;
}

export interface DavApp extends Omit<DavCore, 'handle' | 'logError'> {
  app: Koa<DavState>;
}

/** The lock store named by the options (its location never depends on the storage backend). */
async function createLockManager(o: ServerOptions): Promise<LockManager> {
  // A tree held in memory keeps its locks in memory too, unless a store is named explicitly.
  if (o.lockStore === 'memory' || (o.storage === 'memory' && o.lockStore === 'file')) return new MemoryLockManager();
  if (isRedisUrl(o.lockStore)) {
    // Loaded only when used: ioredis alone adds ~15 MiB to the resident memory.
    const { RedisLockManager } = await import('./locks/redis.js');
    const r = new RedisLockManager({ url: o.lockStore });
    await r.init();
    return r;
  }
  const file = o.lockStore === 'file' ? join(o.root, META_DIR, 'locks.json') : o.lockStore.slice('file:'.length);
  const m = new FileLockManager(file);
  await m.init();
  return m;
}

/** Storage, lock store, small-state store and authentication, built from resolved options. */
async function createServices(
  options: ServerOptions,
  hooks: AppHooks,
  logger: Logger,
): Promise<{ services: Services; store: StorageHandle; auth: Auth; events: TreeEvents; checksums: Checksums }> {
  const store = await createStorage(options);
  const { storage } = store;
  const locks = await createLockManager(options);
  let state: StateStore | undefined;
  try {
    state = await createStateStore(options, join(options.root, META_DIR));
    // Side data follows the tree: every write publishes what it changed, and the dead-property
    // store and the lock manager keep themselves in step (src/storage/events.ts).
    const events = new TreeEvents((err, name) => logger.error(Object.assign(new Error(`tree event listener ${name} failed: ${(err as Error)?.message ?? String(err)}`), { cause: err })));
    events.subscribe(propsFollowTree(storage.props), 'dead properties');
    events.subscribe(locksFollowTree(locks), 'locks');
    // Kept on disk where the backend has one; in memory only the in-process cache (never stale either way).
    const checksums = new Checksums(storage.cacheDir ? new FsChecksumStore(storage.cacheDir('sums')) : new NoChecksumStore(), storage);
    events.subscribe(checksums.listener(), 'checksums');
    const services: Services = { options, storage, locks, events, state, checksums: checksums.view(storage) };
    // Before the users' spaces copy the services, so every view carries the same metrics.
    // prom-client and the admin router are loaded only when metrics are kept (~5 MiB resident otherwise).
    if (hooks.metrics ?? options.adminPort !== undefined) services.metrics = await newMetrics(services);
    const auth = await createAuth(options, services, state, hooks.identify);
    services.metrics?.watch(auth.defender);
    return { services, store, auth, events, checksums };
  } catch (e) {
    await Promise.all([locks.close(), state?.close(), store.close()]);
    throw e;
  }
}

async function newMetrics(services: Services): Promise<ServerMetrics> {
  const { ServerMetrics } = await import('./admin/metrics.js');
  return new ServerMetrics(services);
}

/** Runs middleware in order, each one's `next` being the rest (koa-compose without the checks). */
function compose(list: Middleware[]): (ctx: DavContext) => Promise<void> {
  return (ctx) => {
    const run = (i: number): Promise<void> => (i === list.length ? Promise.resolve() : list[i]!(ctx, () => run(i + 1)));
    return run(0);
  };
}

async function dispatch(ctx: DavContext): Promise<void> {
  const handler = HANDLERS[ctx.method];
  if (!handler) {
    throw KNOWN_UNSUPPORTED.has(ctx.method)
      ? new DavError(405, 'Method not allowed', { headers: { Allow: ALLOWED_METHODS } })
      : new DavError(501, 'Method not implemented');
  }
  await handler(ctx);
}

/**
 * A host app that lets requests through anonymously (the identify hook answers undefined, no
 * users file) trusts whoever reaches it, as an anonymous server does, so those requests get the
 * same Host check; requests the host app authenticated do not (a rebinding page cannot send the
 * host's cookies). The host app's listener is unknown here: any address literal passes.
 */
function anonymousHostCheck(identify: Identify, options: ServerOptions): Identify {
  const check = hostCheck({ ...options, host: '0.0.0.0' });
  if (!check) return identify;
  return async (ctx) => {
    const id = await identify(ctx);
    if (id === undefined && !options.users) await check(ctx, () => Promise.resolve());
    return id;
  };
}

export async function createDav(partial: Partial<ServerOptions>, hooks: AppHooks = {}): Promise<DavCore> {
  // A host app's authentication stands in for --htpasswd, so a users file may come without one.
  const options = resolveOptions(hooks.identify ? { ...partial, users: undefined } : partial);
  if (hooks.identify && partial.users) options.users = partial.users;
  const startedAt = Date.now();
  const logger = hooks.logger ?? createLogger({ format: options.logFormat === 'json' ? 'json' : 'text', access: !options.quiet });
  if (hooks.identify) hooks = { ...hooks, identify: anonymousHostCheck(hooks.identify, options) };
  const { services, store, auth, events, checksums } = await createServices(options, hooks, logger);
  const logError: ErrorLogger = hooks.log ?? ((err, ctx) => logger.error(err, ctx));
  const requestLimits = limits(options);
  const handle = compose([
    // Outermost: metrics see every request with its final status.
    ...(services.metrics ? [services.metrics.observe()] : []),
    errors(logError),
    absoluteTarget(options),
    requestLog(logger),
    // DNS rebinding guard for servers without authentication (for a host app's anonymous
    // requests it runs in the identify hook, see anonymousHostCheck); HSTS first, so a 421 has it too.
    ...[hsts(options), hooks.identify ? null : hostCheck(options)].filter((g): g is Middleware => !!g),
    async (ctx, next) => {
      ctx.state.services = services;
      await next();
    },
    cors(options),
    // The server's own endpoints (`<prefix>/.dav/`): public routes answer here, the others run auth first.
    davRoutes({ services, dispatch, defender: auth.defender, spaces: auth.spaces, appPasswords: auth.appPasswords }, { auth: auth.middleware, limits: requestLimits }, hooks.routes),
    auth.middleware,
    requestLimits,
    resolvePath,
    osJunk,
    // Path rules of the user and their credential (src/auth/rules.ts), before any handler runs.
    rightsMiddleware,
    dispatch,
  ]);

  // Temp files of uploads cut short by a crash: removed in the background, never listed meanwhile.
  const sweep = store.sweep(startedAt).then(
    (r) => {
      if (r?.removed && !options.quiet) process.stdout.write(`Removed ${r.removed} stale temp file(s) of interrupted writes\n`);
      return r;
    },
    () => null,
  );

  return {
    services,
    handle,
    sweep,
    logger,
    logError,
    health: () => readiness(services),
    events,
    defender: auth.defender,
    close: async () => {
      // The sweep is not awaited: stopping it half way only leaves work for the next start.
      await Promise.all([services.locks.close(), services.state.close(), checksums.close()]);
      await store.close();
    },
  };
}

/** The WebDAV server as a Koa app of its own (what the CLI serves). */
export async function createApp(partial: Partial<ServerOptions>, hooks: AppHooks = {}): Promise<DavApp> {
  const { handle, logError, ...core } = await createDav(partial, hooks);
  const app = new Koa<DavState>();
  app.silent = true;
  // Errors after the headers went out (a streamed body failing) reach Koa, not our middleware.
  app.on('error', (err: unknown, ctx?: DavContext) => {
    if (ctx && !isClientGone(err)) logError(err, ctx);
  });
  app.use(handle);
  return { app, ...core };
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  dav: DavApp;
  /** Slow bodies cut and connections refused by the connection guards. */
  connectionStats: ConnectionStats;
  /** The admin listener (/metrics, /healthz, /readyz), when --admin-port is set (not in cluster workers: the primary has it). */
  admin?: AdminServer;
  /** What /readyz answers: not ready once a graceful stop has begun. */
  health(): Promise<Readiness>;
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
  const connectionStats = guardConnections(server, dav.services.options);
  dav.services.metrics?.watchConnections(connectionStats);
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
  const health = async (): Promise<Readiness> => {
    const r = await dav.health();
    return draining ? { ready: false, checks: [{ name: 'server', ok: false, detail: 'shutting down' }, ...r.checks] } : r;
  };
  const { adminPort, adminHost } = dav.services.options;
  let admin: AdminServer | undefined;
  if (adminPort !== undefined && !cluster.isWorker) {
    const registry = dav.services.metrics!.registry;
    try {
      const { startAdmin } = await import('./admin/server.js');
      admin = await startAdmin(adminHost, adminPort, { metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }), readiness: health }, dav.services.options.allowedHosts);
    } catch (e) {
      await new Promise<void>((r) => server.close(() => r()));
      await dav.close();
      throw Object.assign(e as Error, { admin: true });
    }
  }
  return {
    server,
    url: `${scheme(dav.services.options)}://${shownHost}:${bound}${prefix}/`,
    port: bound,
    dav,
    connectionStats,
    admin,
    health,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await admin?.close();
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
      await admin?.close();
      await dav.close();
      return cut;
    },
  };
}
