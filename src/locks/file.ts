/**
 * Locks kept in memory and persisted to a JSON file, so they survive a restart. Writes are
 * group-committed: every change waits for the next flush, and one flush (temp file + rename)
 * covers all the changes made while the previous one was running, so persistence never
 * serialises requests one write at a time.
 */
import { promises as fsp } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { MemoryLockManager, type MemoryLockOptions } from './memory.js';
import type { LockInfo } from './manager.js';
import { writeAtomic } from '../storage/fs/props.js';
import { statWorker } from '../storage/fs/stat-batch.js';

/**
 * Temp file + rename in one message to the fs worker (a lock cycle waits for two flushes; four
 * threadpool hand-offs each were most of its latency); the threadpool path when that fails.
 */
async function writeAtomicFast(file: string, data: string): Promise<void> {
  const r = await statWorker.putSmall(`${file}.${randomUUID()}.tmp`, file, Buffer.from(data), false)?.catch(() => null);
  if (!r || r.code) await writeAtomic(file, data);
}

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

  protected override changed(): Promise<void> {
    if (this.pending) return this.pending;
    const run = async (): Promise<void> => {
      await this.flushing?.catch(() => undefined);
      this.pending = null;
      this.flushing = writeAtomicFast(this.file, JSON.stringify([...this.locks.values()]));
      try {
        await this.flushing;
      } finally {
        this.flushing = null;
      }
    };
    this.pending = run();
    return this.pending;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.pending?.catch(() => undefined);
    await this.flushing?.catch(() => undefined);
  }
}
