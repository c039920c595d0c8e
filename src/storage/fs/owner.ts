/**
 * Who wrote a temp file: every temp name this process writes carries its owner tag (a hash of
 * the host name and the pid), so a sweep can tell debris of a process that is gone from a write
 * that is still in flight in another instance or worker.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

export const HOST_TAG = createHash('sha1').update(hostname()).digest('hex').slice(0, 8);
/** `<host>-<pid>` of this process. */
export const OWNER_TAG = `${HOST_TAG}-${process.pid}`;

export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Whether the owner of `tag` (`<host>-<pid>`) is gone: true or false on this host, undefined for
 * another host (the caller falls back to an age).
 */
export function ownerGone(tag: string): boolean | undefined {
  const m = /^([0-9a-f]{8})-(\d+)$/.exec(tag);
  if (!m || m[1] !== HOST_TAG) return undefined;
  return !pidAlive(Number(m[2]));
}
