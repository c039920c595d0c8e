/**
 * Locks kept in memory and persisted to disk, so they survive a restart: a snapshot
 * (`locks.json`, written with temp file + fsync + rename) and a journal beside it
 * (`locks.json.journal`) to which every change appends one line (`{"op":"put","lock":...}` or
 * `{"op":"del","token":...}`), fsync'd before the change is acknowledged. So a LOCK, refresh or
 * UNLOCK writes a few hundred bytes whatever the number of locks; the snapshot is rewritten only
 * when the journal has grown past twice the live locks (and at start), which keeps the
 * cost per change constant on average. Appends are group-committed: every change waits for the
 * next flush, and one flush covers all the changes made while the previous one ran. A crash
 * mid-append leaves at most a torn last line, which the replay skips (that change was never
 * acknowledged).
 */
import { promises as fsp } from 'node:fs';
import { MemoryLockManager, type LockChange, type MemoryLockOptions } from './memory.js';
import type { LockInfo } from './manager.js';
import { ATOMIC_TMP_RE, writeAtomic } from '../storage/fs/props.js';
import { fromFsError } from '../errors.js';
import { statWorker } from '../storage/fs/stat-batch.js';
import { basename, dirname, join } from 'node:path';

/** Journal lines always allowed before a compaction, whatever the number of live locks. */
const MIN_JOURNAL_LINES = 1000;

export class FileLockManager extends MemoryLockManager {
  private flushing: Promise<void> | null = null;
  private pending: Promise<void> | null = null;
  /** Journal lines of changes not yet flushed. */
  private lines: string[] = [];
  /** Lines in the journal file since the last snapshot. */
  private journalLines = 0;
  private readonly journal: string;

  constructor(
    private readonly file: string,
    opts: MemoryLockOptions = {},
  ) {
    super(opts);
    this.journal = `${file}.journal`;
  }

  async init(): Promise<void> {
    await this.removeStaleTemps();
    let text: string | null = null;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== null) {
      let saved: LockInfo[];
      try {
        saved = JSON.parse(text) as LockInfo[];
      } catch {
        throw new Error(`lock store ${this.file} is not valid JSON; move it away to start without the saved locks`);
      }
      for (const l of saved) this.insert(l, false);
    }
    let journal = '';
    try {
      journal = await fsp.readFile(this.journal, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of journal.split('\n')) {
      if (!line) continue;
      let c: LockChange;
      try {
        c = JSON.parse(line) as LockChange;
      } catch {
        continue; // a line torn by a crash: its change was never acknowledged
      }
      if (c.op === 'put') this.insert(c.lock, false);
      else this.drop(c.token, false);
    }
    const now = this.clock();
    for (const l of [...this.locks.values()]) if (l.expiresAt <= now) this.drop(l.token, false);
    // Start from a fresh snapshot and an empty journal.
    if (text !== null || journal) await this.compact();
  }

  /** Temp files of snapshots cut short by a kill (`locks.json[.<owner>].<uuid>.tmp`): never read, removed. */
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

  protected override record(change: LockChange): void {
    this.lines.push(JSON.stringify(change));
  }

  /** The whole table as a snapshot, and an empty journal. */
  private async compact(): Promise<void> {
    await writeAtomic(this.file, JSON.stringify([...this.locks.values()]));
    await fsp.rm(this.journal, { force: true });
    this.journalLines = 0;
  }

  private async append(lines: string[]): Promise<void> {
    // A leading newline: a line torn by an earlier failed append never swallows these.
    const text = '\n' + lines.join('\n') + '\n';
    // On the fs worker when it runs: open, write, fdatasync and close in one hand-off instead of
    // four threadpool round trips (a LOCK and an UNLOCK each wait for this).
    const done = await statWorker.append(this.journal, text);
    if (done?.code) throw Object.assign(new Error(`${done.code}: ${this.journal}`), { code: done.code });
    if (!done) {
      const fh = await fsp.open(this.journal, 'a');
      try {
        await fh.write(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }
    this.journalLines += lines.length;
  }

  private async flush(): Promise<void> {
    const lines = this.lines.splice(0);
    if (lines.length === 0) return;
    if (this.journalLines + lines.length > Math.max(MIN_JOURNAL_LINES, 2 * this.locks.size)) await this.compact();
    else await this.append(lines);
  }

  protected override changed(): Promise<void> {
    if (this.pending) return this.pending;
    const run = async (): Promise<void> => {
      await this.flushing?.catch(() => undefined);
      this.pending = null;
      // ENOSPC and friends reach the client as 507/403/503, not as a bare 500.
      this.flushing = this.flush().catch((e: unknown) => {
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
    // No compaction here: the journal replays at the next start, and a stopping server writes
    // nothing it does not have to (a script may be removing the tree right after SIGTERM).
  }
}
