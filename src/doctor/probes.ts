/**
 * What a directory's filesystem can do, found by trying it: every probe works on hidden temp
 * names (`.~davtmp-doctor-*`, which the server never lists and sweeps at start) and removes
 * what it made.
 */
import { execFile } from 'node:child_process';
import { constants as fsc, promises as fsp, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { LEGACY_TEMP_PREFIX as TEMP_PREFIX } from '../storage/reserved.js';

export const probeName = (tag: string): string => `${TEMP_PREFIX}doctor-${randomUUID().slice(0, 8)}-${tag}`;

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Writes, fsyncs, renames and removes a file: the steps every upload takes. */
export async function probeWrite(dir: string): Promise<string | null> {
  const tmp = join(dir, probeName('w'));
  const dst = join(dir, probeName('r'));
  try {
    const fh = await fsp.open(tmp, 'wx');
    try {
      await fh.writeFile('doctor');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, dst);
    await fsp.unlink(dst);
    return null;
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    await fsp.rm(dst, { force: true }).catch(() => undefined);
    return code(e);
  }
}

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  readOnly: boolean;
}

/** The mount holding `path` (a real path), from /proc/self/mountinfo; null elsewhere than Linux. */
export function mountOf(path: string): MountInfo | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best: MountInfo | null = null;
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const mountPoint = unescape(f[4] ?? '');
    const under = mountPoint === '/' || path === mountPoint || path.startsWith(mountPoint + '/');
    if (!under || (best && best.mountPoint.length > mountPoint.length)) continue;
    const [fsType = '?', source = '?'] = right.split(' ');
    best = { mountPoint, fsType, source: unescape(source), readOnly: (f[5] ?? '').split(',').includes('ro') };
  }
  return best;
}

/** True when two names differing only in case are one file. */
export async function probeCaseInsensitive(dir: string): Promise<boolean> {
  const name = probeName('Aa');
  const p = join(dir, name);
  await fsp.writeFile(p, '', { flag: 'wx' });
  try {
    return await fsp.access(join(dir, name.toUpperCase()), fsc.F_OK).then(
      () => true,
      () => false,
    );
  } finally {
    await fsp.unlink(p).catch(() => undefined);
  }
}

/** Longest file name (bytes) the directory takes, found by bisection up to 1024. */
export async function probeNameMax(dir: string): Promise<number> {
  const base = probeName('n');
  const fits = async (n: number): Promise<boolean> => {
    const p = join(dir, base + 'x'.repeat(Math.max(0, n - base.length)));
    try {
      await fsp.writeFile(p, '', { flag: 'wx' });
      await fsp.unlink(p);
      return true;
    } catch (e) {
      if (code(e) === 'ENAMETOOLONG') return false;
      throw e;
    }
  };
  let lo = base.length;
  let hi = 1024;
  if (await fits(hi)) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Whether a copy can share blocks (FICLONE, as COPY uses): null when yes, else the reason. */
export async function probeReflink(dir: string): Promise<string | null> {
  const src = join(dir, probeName('c'));
  const dst = join(dir, probeName('d'));
  try {
    await fsp.writeFile(src, Buffer.alloc(64 * 1024, 1), { flag: 'wx' });
    await fsp.copyFile(src, dst, fsc.COPYFILE_FICLONE_FORCE);
    return null;
  } catch (e) {
    return code(e);
  } finally {
    await fsp.rm(src, { force: true });
    await fsp.rm(dst, { force: true });
  }
}

const run = (cmd: string, args: string[]): Promise<{ ok: boolean; missing: boolean; out: string }> =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: !err, missing, out: (stdout + stderr).trim() });
    });
  });

/**
 * Whether files take user extended attributes: 'yes', 'no' (with the reason) or 'unknown' when
 * neither setfattr (Debian package attr) nor python3 is there to try (Node has no xattr API).
 */
export async function probeXattr(dir: string): Promise<{ result: 'yes' | 'no' | 'unknown'; detail: string }> {
  const p = join(dir, probeName('x'));
  await fsp.writeFile(p, '', { flag: 'wx' });
  try {
    const set = await run('setfattr', ['-n', 'user.webdav-doctor', '-v', '1', p]);
    if (!set.missing) return set.ok ? { result: 'yes', detail: 'setfattr' } : { result: 'no', detail: set.out.split('\n').at(-1) ?? '' };
    const py = await run('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], b"user.webdav-doctor", b"1")', p]);
    if (!py.missing) return py.ok ? { result: 'yes', detail: 'python3 os.setxattr' } : { result: 'no', detail: py.out.split('\n').at(-1) ?? '' };
    return { result: 'unknown', detail: 'neither setfattr (Debian package attr) nor python3 is installed to try' };
  } finally {
    await fsp.unlink(p).catch(() => undefined);
  }
}
