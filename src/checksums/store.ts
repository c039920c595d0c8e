/**
 * Where checksums are kept: one small JSON record per file under `<meta>/sums`, in a tree that
 * mirrors the served tree the way dead properties do (`/a/b` -> `root.d/a.d/b.s`, its members
 * below `root.d/a.d/b.d/`, long names hashed with the same rule), so removing or moving a
 * subtree's records is one rm or rename whatever its size.
 *
 * A record is a cache, never the truth: it names the ETag (and size, mtime, object id) of the
 * content it was computed from, and is used only while the file still has that ETag. So records
 * are written without fsync (a lost one is computed again) and a torn or foreign file reads as
 * missing; a crash between a rename and its record, or an edit made on disk, can never make a
 * stale checksum be served.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { mirrorDir, storedSegment } from '../storage/fs/props.js';
import { OWNER_TAG } from '../storage/fs/owner.js';
import { statWorker } from '../storage/fs/stat-batch.js';
import { moveSideData } from '../storage/fs/side-data.js';
import { ALGORITHMS, isDigests, type Digests } from './digests.js';

export interface ChecksumRecord {
  /** ETag of the content the digests describe. */
  etag: string;
  size: number;
  mtimeMs: number;
  /** The backend's object identity (device and inode), when it has one. */
  id?: string;
  digests: Digests;
}

export interface ChecksumStore {
  get(path: string): Promise<ChecksumRecord | null>;
  put(path: string, rec: ChecksumRecord): Promise<void>;
  /** Removes the record of `path` and every record below it. */
  removeTree(path: string): Promise<void>;
  /** Makes `rec` the record of `path` and removes every record below it (a new file's content). */
  renew(path: string, rec: ChecksumRecord): Promise<void>;
  /** Moves the records of `src` and below to `dst`, replacing those of `dst` and below. */
  moveTree(src: string, dst: string): Promise<void>;
  /** Every record at `path` and below, with its path relative to `path` ('' for `path` itself). */
  walk(path: string): AsyncIterable<{ rel: string; rec: ChecksumRecord }>;
}

interface Stored {
  /** The file's own name (hashed names cannot be read back from the record's file name). */
  n: string;
  e: string;
  s: number;
  m: number;
  i?: string;
  d: Digests;
}

const FILE = '.s';
const MEMBERS = '.d';
const HASHED = '~h~';

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';
const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const join2 = (dir: string, name: string): string => (dir === '/' ? '/' + name : dir + '/' + name);

export class FsChecksumStore implements ChecksumStore {
  /** The mirror of `/` (the same layout as the dead properties', src/storage/fs/props.ts). */
  private readonly rootDir: string;

  /** `base`: a folder of the hidden metadata area (`<meta>/sums`). */
  constructor(base: string) {
    this.rootDir = join(base, 'root' + MEMBERS);
  }

  private membersDir(path: string): string {
    return mirrorDir(this.rootDir, path);
  }

  private fileOf(path: string): string {
    const i = path.lastIndexOf('/');
    return this.membersDir(i <= 0 ? '/' : path.slice(0, i)) + '/' + storedSegment(path.slice(i + 1)) + FILE;
  }

  private static parse(text: string): ChecksumRecord | null {
    try {
      const s = JSON.parse(text) as Stored;
      if (typeof s.e !== 'string' || typeof s.s !== 'number' || typeof s.m !== 'number' || !isDigests(s.d)) return null;
      return { etag: s.e, size: s.s, mtimeMs: s.m, id: s.i, digests: s.d };
    } catch {
      return null;
    }
  }

  private async readRecord(file: string): Promise<{ name: string; rec: ChecksumRecord } | null> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if (isEnoent(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw e;
    }
    const rec = FsChecksumStore.parse(text);
    if (!rec) return null;
    return { name: (JSON.parse(text) as Stored).n, rec };
  }

  async get(path: string): Promise<ChecksumRecord | null> {
    if (path === '/') return null;
    return (await this.readRecord(this.fileOf(path)))?.rec ?? null;
  }

  async put(path: string, rec: ChecksumRecord): Promise<void> {
    try {
      await this.write(path, rec);
    } catch (e) {
      // Its folder was removed under us (the file moved or went): the record is moot.
      if (!isEnoent(e)) throw e;
    }
  }

  private async write(path: string, rec: ChecksumRecord): Promise<void> {
    if (path === '/') return;
    const file = this.fileOf(path);
    const d = {} as Digests;
    for (const a of ALGORITHMS) d[a] = rec.digests[a];
    const body = JSON.stringify({ n: nameOf(path), e: rec.etag, s: rec.size, m: rec.mtimeMs, i: rec.id, d } satisfies Stored);
    // Named like every metadata temp file, so the start-up sweep removes one a crash left.
    const tmp = `${file}.${OWNER_TAG}.${randomUUID()}.tmp`;
    // One message to the fs worker (write, rename, the folder made when missing) instead of
    // four or five threadpool hand-offs: every PUT writes a record.
    const r = await statWorker.writeFile(tmp, file, body);
    if (r) {
      if (r.code) throw Object.assign(new Error(`${r.code}: ${file}`), { code: r.code });
      return;
    }
    try {
      await fsp.writeFile(tmp, body, { flag: 'wx' });
    } catch (e) {
      if (!isEnoent(e)) throw e;
      await fsp.mkdir(join(file, '..'), { recursive: true });
      await fsp.writeFile(tmp, body, { flag: 'wx' });
    }
    try {
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async removeTree(path: string): Promise<void> {
    if (path === '/') {
      await rmTree(this.membersDir('/'));
      return;
    }
    const paths = [this.fileOf(path), this.membersDir(path)];
    // One message to the fs worker (every PUT of a new file asks, and there is mostly nothing
    // there); a record written meanwhile through the threadpool makes it fail: retried here.
    const r = await statWorker.removeAll(paths);
    if (r && !r.code) return;
    await Promise.all([fsp.rm(paths[0]!, { force: true }), rmTree(paths[1]!)]);
  }

  async renew(path: string, rec: ChecksumRecord): Promise<void> {
    if (path === '/') return;
    // Both requests are queued in this turn, so they reach the fs worker as one message: the
    // members' records go (a file has none, unless a collection stood at this URL before) and the
    // file's record is replaced by rename, never left missing in between.
    const members = this.membersDir(path);
    const removed = Promise.resolve(statWorker.removeAll([members])).then((r) => (r && !r.code ? undefined : rmTree(members)));
    await Promise.all([removed, this.put(path, rec)]);
  }

  async moveTree(src: string, dst: string): Promise<void> {
    if (src === '/' || dst === '/') return;
    await moveSideData(
      [this.fileOf(dst), this.membersDir(dst)],
      [
        [this.fileOf(src), this.fileOf(dst)],
        [this.membersDir(src), this.membersDir(dst)],
      ],
      rmTree,
    );
  }

  async *walk(path: string): AsyncIterable<{ rel: string; rec: ChecksumRecord }> {
    if (path !== '/') {
      const own = await this.readRecord(this.fileOf(path));
      if (own) yield { rel: '', rec: own.rec };
    }
    yield* this.walkMembers(this.membersDir(path), '');
  }

  private async *walkMembers(dir: string, rel: string): AsyncGenerator<{ rel: string; rec: ChecksumRecord }> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isEnoent(e)) return;
      throw e;
    }
    for (const n of names) {
      if (n.endsWith(FILE)) {
        const r = await this.readRecord(join(dir, n));
        // A hashed file name maps back through the name kept in the record.
        if (r && (n.startsWith(HASHED) ? storedSegment(r.name) + FILE === n : r.name + FILE === n)) yield { rel: join2(rel || '/', r.name), rec: r.rec };
      } else if (n.endsWith(MEMBERS) && !n.startsWith(HASHED)) {
        // (A member folder under a hashed name cannot be mapped back; its records are simply not carried.)
        yield* this.walkMembers(join(dir, n), join2(rel || '/', n.slice(0, -MEMBERS.length)));
      }
    }
  }
}

/**
 * Records are written outside the write section (a GET that computes a file's checksum stores
 * it), so a record may appear in a folder while rm -r empties it: rmdir then fails with
 * ENOTEMPTY. Retry (each pass removes what appeared meanwhile); a record that slips in after
 * the last pass names content that is gone, so it is never served and is left for later.
 */
async function rmTree(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rm(dir, { recursive: true, force: true });
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Writers still busy in there: what they leave names content that is gone (never served).
      if (attempt >= 20) return;
    }
  }
}

/** For a backend without a disk (--storage memory): nothing is kept, checksums are computed when asked. */
export class NoChecksumStore implements ChecksumStore {
  async get(): Promise<ChecksumRecord | null> {
    return null;
  }
  async put(): Promise<void> {}
  async removeTree(): Promise<void> {}
  async renew(): Promise<void> {}
  async moveTree(): Promise<void> {}
  async *walk(): AsyncIterable<{ rel: string; rec: ChecksumRecord }> {}
}
