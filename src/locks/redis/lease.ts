/**
 * Critical sections across instances: an in-process PathMutex first, then a Redis lease on the
 * same paths (reader or writer, same overlap rules), renewed every third of its length while the
 * section runs. A section whose lease cannot be renewed in time or has expired is told at once
 * (HeldSection.signal aborts, stillHeld() turns false), so the write spine refuses its next
 * irreversible step (503) instead of writing on unprotected.
 */
import { randomUUID } from 'node:crypto';
import type { HeldSection, Hold } from '../manager.js';
import { PathMutex, toHolds } from '../path-mutex.js';
import { LockStoreUnavailable } from '../errors.js';
import { LEASE } from './scripts.js';
import type { RedisConnection } from './connection.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LeaseOptions {
  /** Lease of one critical section; renewed every third of it while the section runs, ms. */
  leaseMs?: number;
  /** Longest wait for a critical section held by another instance before answering 503, ms. */
  leaseWaitMs?: number;
}

export class RedisLeases {
  private readonly mutex = new PathMutex();
  private readonly leaseMs: number;
  private readonly leaseWaitMs: number;

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: string[],
    private readonly log: (line: string) => void,
    opts: LeaseOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 10_000;
    this.leaseWaitMs = opts.leaseWaitMs ?? 30_000;
  }

  exclusive<T>(paths: readonly (string | Hold)[], fn: (held: HeldSection) => Promise<T>): Promise<T> {
    const holds = toHolds(paths);
    // Sections of this process queue in memory; only one of them at a time asks Redis.
    return this.mutex.run(holds, async () => {
      const id = randomUUID();
      const joined = holds.map((h) => (h.mode === 'read' ? 'r' : 'w') + h.path).join('\0');
      await this.acquire(id, joined, holds);
      const held = this.keep(id, holds);
      try {
        return await fn(held.section);
      } finally {
        held.stop();
        // If this fails the lease simply expires after leaseMs.
        await this.conn.run(LEASE.release, this.keys, [id]).catch(() => undefined);
      }
    });
  }

  /** Renews lease `id` while the section runs; tells the section when it is lost. */
  private keep(id: string, holds: Hold[]): { section: HeldSection; stop: () => void } {
    let renewedAt = Date.now();
    const lost = new AbortController();
    const lose = (why: string): void => {
      if (lost.signal.aborted) return;
      this.log(`[lock-store] the critical section on ${holds.map((h) => h.path).join(', ')} lost its lease (${why})`);
      lost.abort(new LockStoreUnavailable(`the write lease was lost (${why})`));
    };
    const renew = setInterval(() => {
      if (Date.now() - renewedAt >= this.leaseMs) return lose('not renewed in time');
      this.conn.run(LEASE.renew, this.keys, [id, this.leaseMs]).then(
        (ok) => {
          if (ok === 1) renewedAt = Date.now();
          else lose('expired');
        },
        () => undefined,
      );
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    renew.unref();
    return {
      section: { signal: lost.signal, stillHeld: () => !lost.signal.aborted && Date.now() - renewedAt < this.leaseMs },
      stop: () => clearInterval(renew),
    };
  }

  private async acquire(id: string, joined: string, holds: Hold[]): Promise<void> {
    const deadline = Date.now() + this.leaseWaitMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      if ((await this.conn.run(LEASE.acquire, this.keys, [id, this.leaseMs, joined])) === 1) return;
      if (Date.now() >= deadline) throw new LockStoreUnavailable(`another instance held ${holds.map((h) => h.path).join(', ')} for over ${this.leaseWaitMs} ms`);
      await sleep(wait / 2 + Math.random() * wait);
    }
  }
}
