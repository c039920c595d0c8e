/**
 * DAV paths on disk: where a path lives, its stored spelling (Unicode normalisation), and the
 * start-up probe for case-insensitive filesystems.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { joinPath } from '../../dav/path.js';
import { isReservedName } from '../reserved.js';

const ASCII = /^[\x00-\x7f]*$/;

const exists = (p: string): Promise<boolean> =>
  fsp.lstat(p).then(
    () => true,
    () => false,
  );

/** Absolute filesystem path of a DAV path (DAV paths are already contained and clean). */
export const fsPathOf = (root: string, path: string): string => (path === '/' ? root : join(root, path));

/**
 * The stored spelling of `path`: the path itself when it exists (or is plain ASCII), else the
 * path whose segments name existing members that differ only in Unicode normalisation (NFC vs
 * NFD, as macOS sends). Segments past the first one that matches nothing are kept as given.
 */
export async function canonicalPath(root: string, path: string, index: NfcIndex): Promise<string> {
  // Fast path: ASCII names have one normalisation form, and an exact hit needs no search.
  if (ASCII.test(path)) return path;
  if (await exists(fsPathOf(root, path))) return path;
  const segments = path.slice(1).split('/');
  let dir = '/';
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const found = ASCII.test(seg) || (await exists(fsPathOf(root, joinPath(dir, seg)))) ? seg : await index.member(fsPathOf(root, dir), dir, seg);
    if (found === null) return joinPath(dir, segments.slice(i).join('/'));
    dir = joinPath(dir, found);
  }
  return dir;
}

/** A directory's non-ASCII member names by their NFC form, valid while the directory is unchanged. */
interface DirNames {
  /** Change time, modification time and inode of the directory when its names were read. */
  stamp: string;
  byNfc: Map<string, string>;
}

/**
 * Non-ASCII member names by NFC form, per directory, kept while the directory's change time
 * stays the same: a lookup of a name that matches nothing (a client probing for `._x` siblings
 * or a new file's NFD spelling) costs one stat of the directory instead of reading all of it
 * (123 ms per request in a 50,000-entry folder). A listing read in the same clock tick as a
 * change to the directory could miss that change without the change time moving, so it is
 * kept only when the directory was last changed well before the reading began.
 */
export class NfcIndex {
  private readonly dirs = new Map<string, DirNames>();
  private names = 0;

  constructor(
    /** Most names kept over all directories (oldest directories dropped first). */
    private readonly maxNames = 200_000,
    /** A change this close to the start of a reading may share its clock tick (ms). */
    private readonly racyMs = 2000,
  ) {}

  /** The member of `dir` (filesystem path `file`) whose NFC form equals that of `name`, or null. */
  async member(file: string, dir: string, name: string): Promise<string | null> {
    const want = name.normalize('NFC');
    const stamp = await stampOf(file);
    if (stamp === null) return null; // dir missing or unreadable: nothing matches
    const known = this.dirs.get(file);
    if (known?.stamp === stamp.key) return known.byNfc.get(want) ?? null;
    const started = Date.now();
    const byNfc = new Map<string, string>();
    try {
      for (const n of await fsp.readdir(file)) {
        if (ASCII.test(n) || isReservedName(dir, n)) continue;
        const k = n.normalize('NFC');
        if (!byNfc.has(k)) byNfc.set(k, n);
      }
    } catch {
      return null;
    }
    this.forget(file);
    const after = await stampOf(file);
    if (after?.key === stamp.key && stamp.changedMs < started - this.racyMs && byNfc.size <= this.maxNames) {
      this.dirs.set(file, { stamp: stamp.key, byNfc });
      this.names += byNfc.size;
      for (const [oldest, entry] of this.dirs) {
        if (this.names <= this.maxNames) break;
        this.dirs.delete(oldest);
        this.names -= entry.byNfc.size;
      }
    }
    return byNfc.get(want) ?? null;
  }

  private forget(file: string): void {
    const old = this.dirs.get(file);
    if (!old) return;
    this.dirs.delete(file);
    this.names -= old.byNfc.size;
  }
}

async function stampOf(file: string): Promise<{ key: string; changedMs: number } | null> {
  try {
    const st = await fsp.stat(file, { bigint: true });
    return { key: `${st.ctimeNs}:${st.mtimeNs}:${st.ino}:${st.dev}`, changedMs: Math.max(Number(st.ctimeMs), Number(st.mtimeMs)) };
  } catch {
    return null;
  }
}

/**
 * True when names in `dir` are matched without regard to letter case (macOS, Windows shares,
 * ext4 casefold): creates a probe file and looks it up in upper case.
 */
export async function isCaseInsensitive(dir: string): Promise<boolean> {
  const name = `.case-probe-${randomUUID()}`;
  const file = join(dir, name);
  await fsp.writeFile(file, '');
  try {
    return await exists(join(dir, name.toUpperCase()));
  } finally {
    await fsp.rm(file, { force: true });
  }
}
