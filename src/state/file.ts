/**
 * The small-state store on the local filesystem: one JSON file per key,
 * `<dir>/<namespace>/<encoded rest>.json` holding `{k, v, e}` (key, value, expiry in epoch ms
 * or null). Reads are one readFile. Every change holds the key's lock (an in-process queue,
 * then a lock file created with O_EXCL, so several processes on one machine take turns) around
 * its read-modify-write, and replaces the file like every metadata write (writeAtomic: temp
 * file + fsync + rename, temp names the start-up sweep knows), so a reader never sees a
 * half-written value. Expired files are removed by a sweep every minute.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { withFileLock } from '../util/file-lock.js';
import { writeAtomic } from '../storage/fs/props.js';
import { checkTtl, splitKey, type IncrOptions, type SetOptions, type StateEntry, type StateStore } from './store.js';

interface Stored {
  k: string;
  v: unknown;
  e: number | null;
}

const SUFFIX = '.json';
/** encodeURIComponent never writes `%` before a non-hex character, so hashed names cannot collide with encoded ones. */
const HASHED = '%h-';
const MAX_NAME = 200;

const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

/** File name for the part of a key after its namespace; order-preserving prefix for short keys. */
function fileName(rest: string): string {
  const enc = encodeURIComponent(rest);
  return enc.length <= MAX_NAME ? enc + SUFFIX : HASHED + createHash('sha256').update(rest).digest('hex') + SUFFIX;
}

export interface FileStateOptions {
  /** Injected clock (tests). */
  clock?: () => number;
  /** How often expired files are removed, ms (0: only when found). */
  sweepIntervalMs?: number;
}

export class FileStateStore implements StateStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly clock: () => number;
  private readonly timer: NodeJS.Timeout | null = null;

  constructor(
    readonly dir: string,
    opts: FileStateOptions = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweep().catch(() => undefined), every);
      this.timer.unref();
    }
  }

  private pathOf(key: string): string {
    const { namespace, rest } = splitKey(key);
    return join(this.dir, namespace, fileName(rest));
  }

  private live(s: Stored | undefined): s is Stored {
    return s !== undefined && (s.e === null || s.e > this.clock());
  }

  private async read(file: string): Promise<Stored | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if (isEnoent(e)) return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as Stored;
    } catch {
      return undefined; // never written half (rename), so only a foreign file: treat as absent
    }
  }

  private write(file: string, s: Stored): Promise<void> {
    return writeAtomic(file, JSON.stringify(s));
  }

  /** Runs `fn` holding the key's lock: first in this process, then across processes. */
  private locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(file) ?? Promise.resolve();
    const run = prev.then(() => withFileLock(file + '.lock', fn));
    const tail = run.catch(() => undefined);
    this.queues.set(file, tail);
    void tail.then(() => {
      if (this.queues.get(file) === tail) this.queues.delete(file);
    });
    return run;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const s = await this.read(this.pathOf(key));
    return this.live(s) ? (s.v as T) : undefined;
  }

  private expiry(ttlMs: number | undefined): number | null {
    checkTtl(ttlMs);
    return ttlMs === undefined ? null : this.clock() + ttlMs;
  }

  async set(key: string, value: unknown, opts: SetOptions = {}): Promise<void> {
    const file = this.pathOf(key);
    const e = this.expiry(opts.ttlMs);
    await this.locked(file, () => this.write(file, { k: key, v: value ?? null, e }));
  }

  async add(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    const file = this.pathOf(key);
    const e = this.expiry(opts.ttlMs);
    return this.locked(file, async () => {
      if (this.live(await this.read(file))) return false;
      await this.write(file, { k: key, v: value ?? null, e });
      return true;
    });
  }

  async delete(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    return this.locked(file, async () => {
      const s = await this.read(file);
      if (s === undefined) return false;
      await fsp.rm(file, { force: true });
      return this.live(s);
    });
  }

  async incr(key: string, opts: IncrOptions = {}): Promise<number> {
    const file = this.pathOf(key);
    const by = opts.by ?? 1;
    if (!Number.isSafeInteger(by)) throw new Error(`state incr needs a whole number, got ${by}`);
    checkTtl(opts.ttlMs);
    return this.locked(file, async () => {
      const s = await this.read(file);
      const old = this.live(s) ? s : undefined;
      if (old !== undefined && typeof old.v !== 'number') throw new Error(`state key ${key} does not hold a counter`);
      const value = ((old?.v as number | undefined) ?? 0) + by;
      const e = old?.e ?? this.expiry(opts.ttlMs);
      await this.write(file, { k: key, v: value, e });
      return value;
    });
  }

  async list<T = unknown>(prefix: string): Promise<StateEntry<T>[]> {
    const { namespace, rest } = splitKey(prefix);
    const dir = join(this.dir, namespace);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isEnoent(e)) return [];
      throw e;
    }
    const encoded = encodeURIComponent(rest);
    const out: StateEntry<T>[] = [];
    for (const name of names) {
      if (!name.endsWith(SUFFIX)) continue; // lock and temp files
      if (!name.startsWith(HASHED) && !name.startsWith(encoded)) continue;
      const s = await this.read(join(dir, name));
      if (this.live(s) && s.k.startsWith(prefix)) out.push({ key: s.k, value: s.v as T });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Removes expired files (each under its key's lock, so a fresh write is never lost). */
  async sweep(): Promise<number> {
    let removed = 0;
    let namespaces: string[];
    try {
      namespaces = await fsp.readdir(this.dir);
    } catch (e) {
      if (isEnoent(e)) return 0;
      throw e;
    }
    for (const ns of namespaces) {
      const dir = join(this.dir, ns);
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!name.endsWith(SUFFIX)) continue;
        const file = join(dir, name);
        const s = await this.read(file);
        if (s === undefined || this.live(s)) continue;
        await this.locked(file, async () => {
          const again = await this.read(file);
          if (again !== undefined && !this.live(again)) {
            await fsp.rm(file, { force: true });
            removed++;
          }
        });
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.queues.values()]);
  }
}
