/**
 * Locks kept in memory and persisted to a JSON file, so they survive a restart. Writes are
 * group-committed: every change waits for the next flush, and one flush (temp file + rename)
 * covers all the changes made while the previous one was running, so persistence never
 * serialises requests one write at a time.
 */
import { promises as fsp } from 'node:fs';
import { MemoryLockManager, type MemoryLockOptions } from './memory.js';
import type { LockInfo } from './manager.js';
import { ATOMIC_TMP_RE, writeAtomic } from '../storage/fs/props.js';
import { fromFsError } from '../errors.js';
import { basename, dirname, join } from 'node:path';

export class FileLockManager extends MemoryLockManager {
  private flushing: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly file: string,
    opts: MemoryLockOptions = {},
  ) {
    super(opts);
  }

  async init(): Promise<void> {
    await this.removeStaleTemps();
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    let saved: LockInfo[];
    try {
      saved = JSON.parse(text) as LockInfo[];
    } catch {
      throw new Error(`lock store ${this.file} is not valid JSON; move it away to start without the saved locks`);
    }
    const now = this.clock();
    for (const l of saved) if (l.expiresAt > now) this.insert(l);
  }

  /** Temp files of flushes cut short by a kill (`locks.json.<uuid>.tmp`): never read, removed. */
  private async removeStaleTemps(): Promise<void> {
    const dir = dirname(this.file);
    const base = basename(this.file);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith(base + '.') && ATOMIC_TMP_RE.exec(n)?.index === base.length) await fsp.rm(join(dir, n), { force: true });
    }
  }

  protected override changed(): Promise<void> {
    if (this.pending) return this.pending;
    const run = async (): Promise<void> => {
      await this.flushing?.catch(() => undefined);
      this.pending = null;
      // ENOSPC and friends reach the client as 507/403/503, not as a bare 500.
      this.flushing = writeAtomic(this.file, JSON.stringify([...this.locks.values()])).catch((e: unknown) => {
        throw fromFsError(e, 'lock store write failed');
      });
      try {
        await this.flushing;
      } finally {
        this.flushing = null;
      }
    };
    this.pending = run();
    // Sweeps fire and forget: a failed flush there must not become an unhandled rejection.
    this.pending.catch(() => undefined);
    return this.pending;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.pending?.catch(() => undefined);
    await this.flushing?.catch(() => undefined);
  }
}
