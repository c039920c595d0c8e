/**
 * `koa-webdav-server doctor [options]`: checks what the server would run on (the root and its
 * filesystem, the lock store, the users and htpasswd files) with the same options, and says
 * what it found in plain words. Exit code 1 when something would stop the server or lose data,
 * else 0. It changes nothing but hidden temp files it removes again.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { isRedisUrl, type ServerOptions } from '../config.js';
import { META_DIR } from '../storage/reserved.js';
import { loadUsers } from '../auth/users.js';
import { hashKind, parseHtpasswd } from '../auth/htpasswd.js';
import { isLoopback } from '../auth/options.js';
import { mountOf, probeCaseInsensitive, probeNameMax, probeReflink, probeWrite, probeXattr } from './probes.js';

type Level = 'ok' | 'note' | 'warn' | 'FAIL';

interface Finding {
  level: Level;
  topic: string;
  text: string;
}

const GiB = 1024 ** 3;
const size = (n: number): string => (n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`);
const why = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

const FS_NOTES: Record<string, string> = {
  tmpfs: 'in memory: everything stored is gone at reboot',
  nfs: 'a network filesystem: fine for several instances (atomic rename and O_EXCL, NFSv3 or later); listings and small files are slower than on a local disk',
  nfs4: 'a network filesystem: fine for several instances (atomic rename and O_EXCL); listings and small files are slower than on a local disk',
  cifs: 'an SMB share: renames over open files and O_EXCL are not guaranteed; prefer a local disk or NFS',
  smb3: 'an SMB share: renames over open files and O_EXCL are not guaranteed; prefer a local disk or NFS',
  vfat: 'FAT: no symlinks, files up to 4 GiB, names compared without case',
  exfat: 'exFAT: no symlinks, names compared without case',
  overlay: 'an overlay (container) filesystem: keep the files on a volume, or they go with the container',
  fuseblk: 'a FUSE filesystem: how it behaves depends on the driver',
};

async function rootFindings(o: ServerOptions): Promise<Finding[]> {
  if (o.storage === 'memory') return [{ level: 'warn', topic: 'root', text: '--storage memory: the tree is held in memory and is gone when the server stops' }];
  const out: Finding[] = [];
  const root = o.root;
  let st;
  try {
    st = await fsp.stat(root);
  } catch (e) {
    return [{ level: 'FAIL', topic: 'root', text: `${root} cannot be opened (${why(e)}): create it, or pass --root DIR` }];
  }
  if (!st.isDirectory()) return [{ level: 'FAIL', topic: 'root', text: `${root} is not a directory` }];
  const real = await fsp.realpath(root);
  const uid = process.getuid?.();
  const writeError = await probeWrite(root);
  if (writeError) return [{ level: 'FAIL', topic: 'root', text: `${root} does not take writes (${writeError}) for this user${uid === undefined ? '' : ` (uid ${uid})`}` }];
  out.push({ level: 'ok', topic: 'root', text: `${root}${real !== root ? ` (really ${real})` : ''} is a directory this user${uid === undefined ? '' : ` (uid ${uid})`} can write, fsync and rename in` });

  const mount = mountOf(real);
  if (mount) {
    const note = FS_NOTES[mount.fsType] ?? (mount.fsType.startsWith('fuse') ? FS_NOTES.fuseblk! : undefined);
    out.push({
      level: mount.readOnly ? 'FAIL' : note && /gone|not guaranteed/.test(note) ? 'warn' : 'ok',
      topic: 'filesystem',
      text: `${mount.fsType} (${mount.source}, mounted at ${mount.mountPoint}${mount.readOnly ? ', READ-ONLY' : ''})${note ? `: ${note}` : ''}`,
    });
  } else out.push({ level: 'note', topic: 'filesystem', text: 'type unknown (no /proc/self/mountinfo on this system)' });

  const fs = await fsp.statfs(root);
  const free = fs.bavail * fs.bsize;
  const total = fs.blocks * fs.bsize;
  const low = free < GiB || free < total * 0.05;
  out.push({ level: low ? 'warn' : 'ok', topic: 'free space', text: `${size(free)} free of ${size(total)}${low ? ': uploads answer 507 when it runs out' : ''}` });
  if (fs.files > 0) {
    const lowInodes = fs.ffree < 10_000;
    out.push({ level: lowInodes ? 'warn' : 'ok', topic: 'free inodes', text: `${fs.ffree.toLocaleString('en')} of ${fs.files.toLocaleString('en')} file slots free${lowInodes ? ': new files fail (507) when none are left' : ''}` });
  }

  const nocase = await probeCaseInsensitive(root);
  out.push(
    nocase
      ? { level: 'warn', topic: 'names', text: 'compared WITHOUT case: a.txt and A.TXT are one file here, which Linux and macOS clients do not expect (PUT of one replaces the other)' }
      : { level: 'ok', topic: 'names', text: 'case-sensitive: a.txt and A.txt are two files, as WebDAV clients expect' },
  );
  const nameMax = await probeNameMax(root);
  out.push({
    level: nameMax < 255 ? 'warn' : 'ok',
    topic: 'name length',
    text: `names up to ${nameMax} bytes (${nameMax} ASCII characters, about ${Math.floor(nameMax / 3)} in CJK scripts); longer ones answer 414${nameMax < 255 ? ': shorter than the usual 255, clients may fail on long names' : ''}`,
  });

  const reflink = await probeReflink(root);
  out.push({
    level: reflink ? 'note' : 'ok',
    topic: 'reflinks',
    text: reflink ? `no copy-on-write clones (FICLONE: ${reflink}): COPY writes every byte again` : 'copy-on-write clones work (FICLONE): COPY of a large file takes no time and no space',
  });
  const xattr = await probeXattr(root);
  out.push({
    level: 'note',
    topic: 'xattrs',
    text:
      xattr.result === 'yes'
        ? 'user extended attributes work (not needed: dead properties live in .davmeta)'
        : xattr.result === 'no'
          ? `user extended attributes are refused (${xattr.detail}); not needed: dead properties live in .davmeta`
          : `extended attributes not checked: ${xattr.detail}; not needed: dead properties live in .davmeta`,
  });
  return out;
}

async function redisFindings(url: string): Promise<Finding[]> {
  const where = new URL(url);
  const shown = `${where.hostname}:${where.port || 6379}${where.pathname || '/0'}`;
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3000, commandTimeout: 3000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    const info = (await client.info('server')) + (await client.info('persistence'));
    const field = (k: string): string | undefined => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const aof = field('aof_enabled') === '1';
    const out: Finding[] = [{ level: 'ok', topic: 'lock store', text: `Redis ${shown} answers (Redis ${field('redis_version') ?? '?'}); locks, write leases and shared state live there` }];
    out.push(
      aof
        ? { level: 'ok', topic: 'lock store', text: 'Redis keeps an append-only file: locks survive a Redis restart' }
        : { level: 'warn', topic: 'lock store', text: 'Redis has no append-only file (appendonly no): a Redis restart can forget locks taken since its last snapshot' },
    );
    return out;
  } catch (e) {
    return [{ level: 'FAIL', topic: 'lock store', text: `Redis ${shown} does not answer (${(e as Error).message}): LOCK, UNLOCK and writes would answer 503` }];
  } finally {
    client.disconnect();
  }
}

async function lockStoreFindings(o: ServerOptions): Promise<Finding[]> {
  if (o.lockStore === 'memory' || (o.storage === 'memory' && o.lockStore === 'file')) return [{ level: 'warn', topic: 'lock store', text: 'memory: locks are forgotten when the server stops' }];
  if (isRedisUrl(o.lockStore)) return redisFindings(o.lockStore);
  const file = o.lockStore === 'file' ? join(o.root, META_DIR, 'locks.json') : o.lockStore.slice('file:'.length);
  const dir = dirname(file);
  try {
    await fsp.access(dir, fsc.F_OK);
  } catch {
    const parentError = await probeWrite(dirname(dir));
    return [
      parentError
        ? { level: 'FAIL', topic: 'lock store', text: `${dir} is missing and cannot be created (${parentError})` }
        : { level: 'ok', topic: 'lock store', text: `file ${file} (created at the first start)` },
    ];
  }
  const err = await probeWrite(dir);
  if (err) return [{ level: 'FAIL', topic: 'lock store', text: `${dir} does not take writes (${err}): locks cannot be kept` }];
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return [{ level: 'ok', topic: 'lock store', text: `file ${file} (none saved yet); its directory takes writes` }];
  }
  try {
    const locks = JSON.parse(text) as { expiresAt?: number }[];
    const live = locks.filter((l) => (l.expiresAt ?? 0) > Date.now()).length;
    return [{ level: 'ok', topic: 'lock store', text: `file ${file}: ${live} active lock(s)${locks.length > live ? `, ${locks.length - live} expired` : ''}` }];
  } catch {
    return [{ level: 'FAIL', topic: 'lock store', text: `${file} is not valid JSON: the server will not start; move it away to start without the saved locks` }];
  }
}

async function userFindings(o: ServerOptions): Promise<Finding[]> {
  const out: Finding[] = [];
  let names = new Set<string>();
  if (!o.htpasswd) {
    // (A non-loopback --host without either was refused before the doctor ran, as the server would.)
    out.push({
      level: isLoopback(o.host) ? 'note' : 'warn',
      topic: 'users',
      text: isLoopback(o.host) ? `no authentication: anyone on this machine may read and change the files (--host ${o.host})` : `no authentication on ${o.host} (--allow-anonymous): anyone who can reach it may read and change the files`,
    });
  } else {
    try {
      const { entries, problems } = parseHtpasswd(await fsp.readFile(o.htpasswd, 'utf8'));
      names = new Set(entries.keys());
      const kinds = new Map<string, number>();
      for (const h of entries.values()) kinds.set(hashKind(h), (kinds.get(hashKind(h)) ?? 0) + 1);
      out.push({ level: entries.size ? 'ok' : 'warn', topic: 'htpasswd', text: `${o.htpasswd}: ${entries.size} user(s) (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'})` });
      for (const p of problems) out.push({ level: 'warn', topic: 'htpasswd', text: p });
      if (!o.tlsCert && !isLoopback(o.host)) out.push({ level: 'warn', topic: 'htpasswd', text: `passwords would cross the network readable (Basic over plain HTTP on ${o.host}): add --tls-cert/--tls-key or a TLS proxy` });
    } catch (e) {
      out.push({ level: 'FAIL', topic: 'htpasswd', text: `${o.htpasswd} cannot be read (${why(e)})` });
    }
  }
  if (o.users) {
    try {
      const rules = await loadUsers(o.users);
      out.push({ level: 'ok', topic: 'users file', text: `${o.users}: ${rules.size} user(s)` });
      for (const [user, rule] of rules) {
        const dir = join(o.root, rule.root);
        const exists = await fsp.stat(dir).then(
          (s) => s.isDirectory(),
          () => false,
        );
        const known = !o.htpasswd || names.has(user);
        out.push({
          level: known ? 'ok' : 'warn',
          topic: 'users file',
          text: `${user}: ${rule.root} (${exists ? 'exists' : 'created at start'}), ${rule.readOnly ? 'read-only' : 'read-write'}${known ? '' : '; not in the htpasswd file, so this user cannot sign in'}`,
        });
      }
      const unlisted = [...names].filter((n) => !rules.has(n));
      if (unlisted.length) out.push({ level: 'note', topic: 'users file', text: `in htpasswd but not in the users file, refused with 403: ${unlisted.join(', ')}` });
    } catch (e) {
      out.push({ level: 'FAIL', topic: 'users file', text: `${o.users}: ${(e as Error).message}` });
    }
  }
  return out;
}

/** Runs every check, prints the findings, and returns the exit code. */
export async function runDoctor(o: ServerOptions, out: Writable = process.stdout): Promise<number> {
  out.write(`koa-webdav-server doctor: checking ${o.root}\n\n`);
  const findings = [...(await rootFindings(o)), ...(await lockStoreFindings(o)), ...(await userFindings(o))];
  const width = Math.max(...findings.map((f) => f.topic.length));
  for (const f of findings) out.write(`  ${f.level.padEnd(4)}  ${f.topic.padEnd(width)}  ${f.text}\n`);
  const fails = findings.filter((f) => f.level === 'FAIL').length;
  const warns = findings.filter((f) => f.level === 'warn').length;
  out.write(`\n${fails ? `${fails} problem(s) would stop the server or lose data` : 'Nothing stops the server'}; ${warns} warning(s).\n`);
  return fails ? 1 : 0;
}
