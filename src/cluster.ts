/**
 * `--workers N`: N server processes on one port (node:cluster). The primary only forks, watches
 * and stops workers; each worker is a whole server sharing the lock store (Redis, enforced by
 * config validation) and the root directory. The banner is printed once all workers listen.
 */
import cluster, { type Worker } from 'node:cluster';
import type { ServerOptions } from './config.js';

interface ListeningMessage {
  type: 'listening';
  url: string;
}

/** How long past --shutdown-timeout the primary waits for its workers before killing them. */
const FORCE_STOP_GRACE_MS = 5_000;
const RESPAWN_DELAY_MS = 1_000;

export const isWorker = (): boolean => cluster.isWorker;

/** In a worker: tells the primary where we listen; stops (SIGTERM from the primary) or when the primary goes away. */
export function workerStarted(url: string, stop: (why: string) => void): void {
  process.send?.({ type: 'listening', url } satisfies ListeningMessage);
  process.on('disconnect', () => stop('primary gone'));
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

  if (!options.quiet) process.stdout.write(`WebDAV server listening on ${url}\nServing ${options.root} with ${options.workers} workers\n`);

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
