/** Helpers of the sync tests (checksums, rclone, resumable uploads). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { TestServer } from '../helpers/server.js';
import { findChild, prop, single, textContent } from '../helpers/dav.js';

const run = promisify(execFile);

/**
 * Rewrites a file in place (same inode) with `content` of the same length and gives it back its
 * modification time to the nanosecond (`touch -r` from a copy of its timestamps): only its ctime
 * tells that it changed.
 */
export async function sameSizeSameMtimeEdit(file: string, content: string | Buffer): Promise<void> {
  const ref = `${file}.~ref`;
  await run('touch', ['-r', file, ref]);
  await writeFile(file, content, { flag: 'r+' });
  await run('touch', ['-r', ref, file]);
  await run('rm', ['-f', ref]);
}

/** Upload-Metadata value: each key with its base64 value. */
export const tusMetadata = (m: Record<string, string>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',');

export const TUS = { 'Tus-Resumable': '1.0.0' };

/** Headers of a tus PATCH at `offset`. */
export const patchHeaders = (offset: number, extra: Record<string, string> = {}): Record<string, string> => ({
  ...TUS,
  'Content-Type': 'application/offset+octet-stream',
  'Upload-Offset': String(offset),
  ...extra,
});

export const OC = 'http://owncloud.org/ns';

export const hex = (alg: string, b: Buffer | string): string => createHash(alg).update(b).digest('hex');

/** The text of `<oc:checksum>` the server answers for content `b`. */
export const checksumList = (b: Buffer | string): string => `SHA1:${hex('sha1', b)} MD5:${hex('md5', b)} SHA256:${hex('sha256', b)}`;

export const PROPFIND_SUMS = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="${OC}"><d:prop><d:getcontentlength/><d:resourcetype/><oc:checksums/></d:prop></d:propfind>`;

/** The `<oc:checksum>` text of `path` from a Depth 0 PROPFIND; undefined when the property is not answered 200. */
export async function sums(s: TestServer, path: string): Promise<string | undefined> {
  const r = single(await s.req('PROPFIND', path, { headers: { Depth: '0' }, body: PROPFIND_SUMS }));
  const p = prop(r, OC, 'checksums');
  if (!p || p.status !== 200) return undefined;
  return textContent(findChild(p.el, OC, 'checksum')!);
}

/** The record file of `path` in the checksum store (a plain mirror of the tree). */
export const recordFile = (root: string, path: string): string => {
  const segs = path.slice(1).split('/');
  const name = segs.pop()!;
  return join(root, '.davmeta', 'sums', 'root.d', ...segs.map((s) => s + '.d'), name + '.s');
};

/** The stored checksum record of `path` (ETag and digests), or null when there is none. */
export async function record(root: string, path: string): Promise<{ e: string; d: Record<string, string> } | null> {
  try {
    return JSON.parse(await readFile(recordFile(root, path), 'utf8'));
  } catch {
    return null;
  }
}
