/**
 * A lock between processes that share a filesystem (several server instances on one NFS mount):
 * the lock is a file created with O_CREAT|O_EXCL next to what it protects, removed when done.
 * Holders keep it for a read-modify-write of one small file, so a lock file older than `staleMs`
 * belongs to a process that died mid-way and is broken.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FileLockOptions {
  /** A lock file older than this is left over from a crash and is removed, ms. */
  staleMs?: number;
}

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const staleMs = opts.staleMs ?? 10_000;
  for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
    try {
      await (await fsp.open(lockPath, 'wx')).close();
      break;
    } catch (e) {
      if (code(e) === 'ENOENT') {
        await fsp.mkdir(dirname(lockPath), { recursive: true });
        continue;
      }
      if (code(e) !== 'EEXIST') throw e;
    }
    try {
      const st = await fsp.stat(lockPath);
      if (Date.now() - st.mtimeMs > staleMs) {
        await fsp.rm(lockPath, { force: true });
        continue;
      }
    } catch (e) {
      if (code(e) === 'ENOENT') continue; // released between our open and stat
      throw e;
    }
    await sleep(wait / 2 + Math.random() * wait);
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(lockPath, { force: true });
  }
}
