/** Helpers of the sync tests (checksums, rclone, resumable uploads). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';

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
