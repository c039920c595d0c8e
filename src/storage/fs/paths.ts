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
export async function canonicalPath(root: string, path: string): Promise<string> {
  // Fast path: ASCII names have one normalisation form, and an exact hit needs no search.
  if (ASCII.test(path)) return path;
  if (await exists(fsPathOf(root, path))) return path;
  const segments = path.slice(1).split('/');
  let dir = '/';
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const found = ASCII.test(seg) || (await exists(fsPathOf(root, joinPath(dir, seg)))) ? seg : await memberByNfc(root, dir, seg);
    if (found === null) return joinPath(dir, segments.slice(i).join('/'));
    dir = joinPath(dir, found);
  }
  return dir;
}

/** A member of `dir` whose NFC form equals that of `name` (only asked after an exact miss). */
async function memberByNfc(root: string, dir: string, name: string): Promise<string | null> {
  const want = name.normalize('NFC');
  try {
    const handle = await fsp.opendir(fsPathOf(root, dir), { bufferSize: 256 });
    for await (const d of handle) {
      if (!ASCII.test(d.name) && !isReservedName(dir, d.name) && d.name.normalize('NFC') === want) return d.name;
    }
  } catch {
    // dir missing or unreadable: nothing matches
  }
  return null;
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
