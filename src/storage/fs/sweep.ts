/**
 * The start-up sweep of debris left by interrupted writes: staging folders whose owner is gone
 * (src/storage/fs/staging.ts), upload temp files that earlier versions wrote beside their target
 * (`.~davtmp-*`, older than the start), and metadata temp files (`*.<uuid>.tmp`) old enough that
 * no running process can still be writing them. Bounded, never follows a symlink, runs in the
 * background.
 *
 * Only versions before the write spine left upload temp files in the served tree, and this one
 * never does, so once a sweep has seen the whole tree it says so in the metadata folder
 * (TREE_SWEPT) and later starts walk only the metadata folder: a start over a tree of a million
 * files no longer opens every folder of it (and the idle server is ~2 MiB smaller for it).
 */
import { promises as fsp, type Dir } from 'node:fs';
import { join } from 'node:path';
import { forEachBounded } from '../../util/concurrency.js';
import { ATOMIC_TMP_RE } from './props.js';
import { LEGACY_TEMP_PREFIX } from '../reserved.js';
import type { Staging } from './staging.js';
import { ownerGone } from './owner.js';

const TREE_PARALLEL = 16;
/** A metadata temp file lives for milliseconds (write, fsync, rename); older than this it is debris. */
export const META_TMP_STALE_MS = 10 * 60_000;
/** In the metadata folder: the served tree has been swept whole once (see above). */
export const TREE_SWEPT = 'tree-swept';

export interface SweepReport {
  removed: number;
  scanned: number;
  /** False when the entry budget ran out before the whole tree was seen. */
  complete: boolean;
}

export interface SweepTarget {
  root: string;
  metaDir: string;
  staging?: Staging;
  /** Aborted when the store closes: the sweep stops at its next entry and marks nothing. */
  signal?: AbortSignal;
}

/**
 * Removes staging folders of owners that are gone, legacy upload temp files modified before
 * `before`, and metadata temp files whose owner is gone (another host's: older than
 * META_TMP_STALE_MS before `before`; untagged ones of earlier versions: older than `before`).
 * Stops after `maxEntries` directory entries.
 */
export async function sweepStale(t: SweepTarget, before: number, maxEntries = 1_000_000): Promise<SweepReport> {
  const report: SweepReport = { removed: 0, scanned: 0, complete: true };
  if (t.staging) report.removed += await t.staging.sweep();
  const staging = t.staging?.dir;
  const marker = join(t.metaDir, TREE_SWEPT);
  const treeSwept = await fsp.lstat(marker).then(
    (st) => st.isFile(),
    () => false,
  );
  const queue: { dir: string; inMeta: boolean }[] = treeSwept ? [] : [{ dir: t.root, inMeta: false }];
  if (treeSwept || !t.metaDir.startsWith(t.root + '/')) queue.push({ dir: t.metaDir, inMeta: true });
  while (queue.length && !t.signal?.aborted) {
    const batch = queue.splice(0, TREE_PARALLEL);
    await forEachBounded(batch, TREE_PARALLEL, async ({ dir, inMeta }) => {
      // The folder is read in small steps, never as one array: a start-up over a folder of
      // 100,000 files otherwise idles tens of MiB larger afterwards.
      let entries: Dir;
      try {
        entries = await fsp.opendir(dir, { bufferSize: 64 });
      } catch {
        return; // vanished or unreadable: nothing we can clean there
      }
      try {
        for await (const d of entries) {
          if (t.signal?.aborted) return;
          if (++report.scanned > maxEntries) {
            report.complete = false;
            return;
          }
          const full = join(dir, d.name);
          if (d.isDirectory()) {
            if (full !== staging) queue.push({ dir: full, inMeta: inMeta || full === t.metaDir });
            continue;
          }
          if (!d.isFile()) continue;
          let limit: number | null = null;
          if (inMeta) {
            const m = ATOMIC_TMP_RE.exec(d.name);
            // A temp file of a process of this host that is gone goes now; one of a live process
            // stays; another host's (or an untagged one) goes once it is old.
            const gone = m?.[1] !== undefined ? ownerGone(m[1]) : undefined;
            if (m) limit = gone === true ? Infinity : gone === false ? null : m[1] === undefined ? before : before - META_TMP_STALE_MS;
          } else if (d.name.startsWith(LEGACY_TEMP_PREFIX)) limit = before;
          if (limit === null) continue;
          try {
            if ((await fsp.lstat(full)).mtimeMs >= limit) continue;
            await fsp.unlink(full);
            report.removed++;
          } catch {
            // raced with something else: leave it for the next start
          }
        }
      } catch {
        // the folder vanished while being read: nothing more to clean there
      }
    });
    if (!report.complete) break;
  }
  if (t.signal?.aborted) report.complete = false;
  if (!treeSwept && report.complete) await fsp.writeFile(marker, 'The served tree was swept of the temp files of older versions.\n').catch(() => undefined);
  return report;
}
