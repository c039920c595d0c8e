/**
 * What a share may point at: an existing file or folder inside its owner's root, for real (after
 * following symlinks), never the hidden metadata or a temp file. Checked when a share is made
 * and again before a share's storage is built, so a link swapped in later cannot lead out.
 */
import { promises as fsp } from 'node:fs';
import { join, sep } from 'node:path';
import { DavError } from '../errors.js';
import { isReservedPath } from '../storage/reserved.js';
import { isSelfOrDescendant, joinPath } from '../dav/path.js';
import type { Rights } from './rules.js';
import type { ShareMode } from './shares.js';
import type { MountMap } from '../storage/mounted.js';

const inside = (real: string, root: string): boolean => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);

/** Whether `target` (a DAV path from the served root) is a file or a folder; 404/403 otherwise. */
export async function shareTarget(servedRoot: string, ownerRoot: string, target: string): Promise<'file' | 'folder'> {
  if (isReservedPath(target)) throw new DavError(404, 'Not found');
  if (!isSelfOrDescendant(target, ownerRoot)) throw new DavError(403, 'Outside the owner\'s files');
  let real: string;
  let realOwner: string;
  try {
    [real, realOwner] = await Promise.all([fsp.realpath(join(servedRoot, target)), fsp.realpath(join(servedRoot, ownerRoot))]);
  } catch {
    throw new DavError(404, `Nothing to share at ${target}`);
  }
  if (!inside(real, realOwner)) throw new DavError(403, 'A symbolic link on the way leads outside the owner\'s files');
  const st = await fsp.stat(real);
  if (st.isDirectory()) return 'folder';
  if (st.isFile()) return 'file';
  throw new DavError(403, 'Only files and folders can be shared');
}

export interface Sharer {
  user: string;
  /** The user's view: their root and the shared folders beside it. */
  map: MountMap;
  rights: Rights | null;
  readOnly: boolean;
}

/**
 * What `sharer` may share at `path` (a path of their view): a read-only share needs read (and
 * list, for a folder), a file drop needs create inside the folder. The share's target on success.
 */
export async function checkShare(servedRoot: string, sharer: Sharer, path: string, mode: ShareMode): Promise<{ target: string; within: string; kind: 'file' | 'folder' }> {
  const target = sharer.map.abs(path);
  // A share stays inside the folder it was made in: the user's root, or the shared folder.
  const within = sharer.map.scopeOf(path);
  const kind = await shareTarget(servedRoot, within, target);
  const { rights } = sharer;
  if (mode === 'drop') {
    if (kind !== 'folder') throw new DavError(400, 'A file drop shares a folder (uploads land in it)');
    // Any name will do: rules decide by name, and an upload takes whatever name the uploader gives.
    if (rights ? !rights.has(joinPath(path, 'upload'), 'create') : sharer.readOnly) throw new DavError(403, 'Not allowed to create files there, so no file drop either');
  } else if (rights && (!rights.has(path, 'read') || (kind === 'folder' && !rights.has(path, 'list')))) {
    throw new DavError(403, 'Not allowed to read that, so not to share it either');
  }
  return { target, within, kind };
}
