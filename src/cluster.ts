/**
 * `--workers N`: N server processes on one port (node:cluster). The primary forks, watches and
 * stops workers, and runs the admin listener: /metrics sums the workers' metrics (prom-client's
 * AggregatorRegistry, each metric with its own aggregator) and /readyz asks every worker.
 * Each worker is a whole server sharing the lock store (Redis, enforced by config validation)
 * and the root directory. The banner is printed once all workers listen.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { ServerOptions } from './config.js';
import type { RunningServer } from './app.js';
import type { Readiness } from './admin/health.js';
import { startAdmin, type AdminServer } from './admin/server.js';

interface ListeningMessage {
  type: 'listening';
  url: string;
}

interface ReadyAsk {
  type: 'webdav:readyz';
  id: number;
}

interface ReadyAnswer {
  type: 'webdav:readyz-answer';
  id: number;
  readiness: Readiness;
}

const READY_WAIT_MS = 3_000;

/** How long past --shutdown-timeout the primary waits for its workers before killing them. */
const FORCE_STOP_GRACE_MS = 5_000;
const RESPAWN_DELAY_MS = 1_000;

export const isWorker = (): boolean => cluster.isWorker;

/**
 * In a worker: tells the primary where we listen, answers its metrics and readiness questions,
 * and stops (SIGTERM from the primary) or when the primary goes away.
 */
export function workerStarted(running: RunningServer, stop: (why: string) => void): void {
  const metrics = running.dav.services.metrics;
  if (metrics) {
    AggregatorRegistry.setRegistries([metrics.registry]);
    new AggregatorRegistry(); // answers the primary's prom-client:getMetricsReq messages
  }
  process.on('message', (m: ReadyAsk) => {
    if (m?.type !== 'webdav:readyz') return;
    void running.health().then((readiness) => process.send?.({ type: 'webdav:readyz-answer', id: m.id, readiness } satisfies ReadyAnswer));
  });
  process.send?.({ type: 'listening', url: running.url } satisfies ListeningMessage);
  process.on('disconnect', () => stop('primary gone'));
}

let nextAsk = 0;

/** Every live worker's readiness; ready when each of them is (a worker that does not answer is not). */
async function clusterReadiness(expected: number): Promise<Readiness> {
  const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  const id = nextAsk++;
  const answers = await Promise.all(
    live.map(
      (w) =>
        new Promise<{ pid: number | undefined; r: Readiness | null }>((resolve) => {
          const t = setTimeout(() => done(null), READY_WAIT_MS);
          const onMessage = (m: ReadyAnswer): void => {
            if (m?.type === 'webdav:readyz-answer' && m.id === id) done(m.readiness);
          };
          const done = (r: Readiness | null): void => {
            clearTimeout(t);
            w.off('message', onMessage);
            resolve({ pid: w.process.pid, r });
          };
          w.on('message', onMessage);
          w.send({ type: 'webdav:readyz', id } satisfies ReadyAsk);
        }),
    ),
  );
  const checks = answers.flatMap(({ pid, r }) =>
    r ? r.checks.map((c) => ({ ...c, name: `worker ${pid} ${c.name}` })) : [{ name: `worker ${pid}`, ok: false, detail: `no answer within ${READY_WAIT_MS / 1000}s` }],
  );
  if (answers.length < expected) checks.unshift({ name: 'workers', ok: false, detail: `${answers.length} of ${expected} workers running` });
  return { ready: answers.length > 0 && checks.every((c) => c.ok), checks };
}

async function startClusterAdmin(options: ServerOptions): Promise<AdminServer> {
  const aggregator = new AggregatorRegistry();
  return startAdmin(options.adminHost, options.adminPort!, {
    metrics: async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }),
    readiness: () => clusterReadiness(options.workers),
  }, options.allowedHosts);
}

/** In the primary: forks the workers, prints the banner, restarts crashed workers, stops all on a signal. */
export async function runPrimary(options: ServerOptions): Promise<void> {
  let stopping = false;
  const say = (line: string): void => {
    if (!options.quiet) process.stdout.write(line + '\n');
  };

  const fork = (): Worker => cluster.fork();
  const workers = Array.from({ length: options.workers }, fork);
  const url = await new Promise<string>((resolve, reject) => {
    let ready = 0;
    const onMessage = (_w: Worker, m: unknown): void => {
      if ((m as ListeningMessage | null)?.type !== 'listening') return;
      if (++ready === options.workers) {
        cluster.off('message', onMessage);
        cluster.off('exit', onEarlyExit);
        resolve((m as ListeningMessage).url);
      }
    };
    const onEarlyExit = (_w: Worker, code: number | null): void => {
      cluster.off('message', onMessage);
      cluster.off('exit', onEarlyExit);
      for (const w of workers) w.process.kill('SIGTERM');
      reject(new Error(`a worker exited with code ${code} before listening`));
    };
    cluster.on('message', onMessage);
    cluster.on('exit', onEarlyExit);
  }).catch((e: Error) => {
    process.stderr.write(`koa-webdav-server: cannot start: ${e.message}\n`);
    process.exit(1);
  });

  let admin: AdminServer | undefined;
  if (options.adminPort !== undefined) {
    try {
      admin = await startClusterAdmin(options);
    } catch (e) {
      process.stderr.write(`koa-webdav-server: cannot start the admin listener on port ${options.adminPort}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exit(1);
    }
  }

  if (!options.quiet) process.stdout.write(`WebDAV server listening on ${url}\nServing ${options.root} with ${options.workers} workers\n`);
  if (admin && !options.quiet) process.stdout.write(`Admin listener on ${admin.url} (/metrics, /healthz, /readyz; all workers)\n`);

  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    process.stderr.write(`koa-webdav-server: worker ${w.process.pid} exited (${signal ?? code}); starting another\n`);
    setTimeout(() => {
      if (!stopping) fork();
    }, RESPAWN_DELAY_MS).unref();
  });

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: shutting down ${options.workers} workers`);
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    // Each worker finishes its requests for up to --shutdown-timeout; only a worker still there
    // well after that is killed (and the stop counts as unclean).
    const force = setTimeout(() => {
      for (const w of live) if (!w.isDead()) w.process.kill('SIGKILL');
      process.exit(1);
    }, options.shutdownTimeout * 1000 + FORCE_STOP_GRACE_MS);
    force.unref();
    let clean = true;
    Promise.all(
      live.map(
        (w) =>
          new Promise<void>((r) => {
            // A worker still starting has no handler yet and simply dies of the signal.
            w.once('exit', (code, signal) => {
              if (code !== 0 && signal !== 'SIGTERM') clean = false;
              r();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    ).then(() => process.exit(clean ? 0 : 1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
