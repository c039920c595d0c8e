/**
 * Readiness: the storage root takes a write (a hidden temp file, created and removed) and the
 * lock store answers (for Redis a round trip; for the file store its directory takes writes).
 * Each check is bounded in time, so a hung filesystem or Redis makes the server unready
 * instead of hanging the probe.
 */
import { randomUUID } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Services } from '../context.js';
import { isRedisUrl } from '../config.js';
import { LEGACY_TEMP_PREFIX as TEMP_PREFIX, META_DIR } from '../storage/reserved.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: Check[];
}

const CHECK_MS = 2000;
/** A token no lock has: looking it up needs the store to answer and changes nothing. */
const PROBE_TOKEN = 'urn:uuid:00000000-0000-4000-8000-000000000000';

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  const timeout = new Promise<never>((_r, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_MS / 1000}s`)), CHECK_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

const why = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

export async function probeStorage(services: Services): Promise<Check> {
  const { root } = services.options;
  if (services.options.storage === 'memory') return { name: 'storage', ok: true, detail: 'the tree is held in memory' };
  const probe = join(root, `${TEMP_PREFIX}ready-${randomUUID()}`);
  try {
    await within(
      (async () => {
        await fsp.writeFile(probe, 'ready', { flag: 'wx' });
        await fsp.unlink(probe);
      })(),
      `the storage root ${root}`,
    );
    return { name: 'storage', ok: true, detail: `${root} takes writes` };
  } catch (e) {
    await fsp.unlink(probe).catch(() => undefined);
    return { name: 'storage', ok: false, detail: `${root} does not take writes (${why(e)})` };
  }
}

export async function probeLockStore(services: Services): Promise<Check & { store: string }> {
  const { lockStore, root } = services.options;
  // A tree in memory keeps its locks in memory unless a store is named (createLockManager).
  const inMemory = lockStore === 'memory' || (services.options.storage === 'memory' && lockStore === 'file');
  const store = isRedisUrl(lockStore) ? 'redis' : inMemory ? 'memory' : 'file';
  try {
    await within(services.locks.byToken(PROBE_TOKEN), 'the lock store');
    if (store === 'file') {
      const dir = lockStore === 'file' ? join(root, META_DIR) : dirname(lockStore.slice('file:'.length));
      await within(fsp.access(dir, fsc.W_OK), `the lock file's directory ${dir}`);
      return { name: 'lock store', store, ok: true, detail: `lock file directory ${dir} takes writes` };
    }
    return { name: 'lock store', store, ok: true, detail: store === 'redis' ? 'Redis answers' : 'in memory' };
  } catch (e) {
    return { name: 'lock store', store, ok: false, detail: `${store} lock store unreachable (${(e as Error).message})` };
  }
}

export async function readiness(services: Services): Promise<Readiness> {
  const checks = await Promise.all([probeStorage(services), probeLockStore(services)]);
  return { ready: checks.every((c) => c.ok), checks: checks.map(({ name, ok, detail }) => ({ name, ok, detail })) };
}
