/**
 * Side data on disk (dead properties, checksum records) mirrors the tree, so it follows a MOVE
 * by renames. These are the steps both stores share, sent to the fs worker as one message where
 * it runs (a MOVE paid three or four hand-offs per store for them, mostly to find nothing).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { statWorker } from './stat-batch.js';

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

/** Renames `from` to `to` when `from` exists, creating `to`'s folder when it is missing. */
async function renameIfPresent(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (e) {
    if (!isEnoent(e)) throw e;
    // Either nothing to move, or the target's folder is missing.
    try {
      await fsp.access(from);
    } catch {
      return;
    }
    await fsp.mkdir(join(to, '..'), { recursive: true });
    await fsp.rename(from, to);
  }
}

/**
 * Removes every path of `clear` (what was kept for the destination), then renames each pair
 * present. Both requests are queued in one turn, so the worker gets them as one message and runs
 * them in order. Without a worker, or when it reports a failure (a record written into a folder
 * while it was removed), the same steps run again through the threadpool: each is idempotent.
 */
export async function moveSideData(clear: string[], pairs: [string, string][], rm: (path: string) => Promise<void>): Promise<void> {
  const removed = statWorker.removeAll(clear);
  const moved = removed ? statWorker.renameAll(pairs) : null;
  if (removed && moved) {
    const [r, m] = await Promise.all([removed, moved]);
    if (r && m && !r.code && !m.code) return;
  }
  for (const p of clear) await rm(p);
  for (const [from, to] of pairs) await renameIfPresent(from, to);
}
