/**
 * In-process critical sections keyed by DAV path, with reader and writer modes. A section holds
 * each of its paths with everything below it; two sections conflict when a path of one is a
 * path of the other or an ancestor of it and at least one of the two holds it as a writer. So a
 * depth-infinity LOCK on /a and a PUT on /a/b never interleave their check-then-write steps,
 * COPYs of one source (readers) run side by side while a MOVE or DELETE of that source (a
 * writer) waits for them, and writes to unrelated paths never wait for each other.
 *
 * Fairness without needless waiting: a waiter W may be overtaken by a newcomer that conflicts
 * with W only while W is still blocked by a section granted before W arrived (W would wait for
 * it anyway). Once those elders are done, newcomers that conflict with W queue behind it, so W
 * waits at most for the elders and the sections that overtook it meanwhile: it cannot starve,
 * and a writer queued on `/` behind a long COPY does not hold up unrelated writes meanwhile.
 */
import { isSelfOrDescendant } from '../dav/path.js';

export type HoldMode = 'read' | 'write';

export interface Hold {
  path: string;
  mode: HoldMode;
}

interface Section {
  holds: Hold[];
  /** Arrival order. */
  seq: number;
  start?: () => void;
}

const overlaps = (a: string, b: string): boolean => isSelfOrDescendant(a, b) || isSelfOrDescendant(b, a);

export const conflict = (a: Hold[], b: Hold[]): boolean =>
  a.some((x) => b.some((y) => (x.mode === 'write' || y.mode === 'write') && overlaps(x.path, y.path)));

/** Paths given as strings are held as writers. */
export const toHolds = (paths: readonly (string | Hold)[]): Hold[] => paths.map((p) => (typeof p === 'string' ? { path: p, mode: 'write' } : p));

export class PathMutex {
  private readonly held = new Set<Section>();
  private readonly waiting: Section[] = [];
  private seq = 0;

  /** Sections running now and waiting (for tests and diagnostics). */
  get size(): { held: number; waiting: number } {
    return { held: this.held.size, waiting: this.waiting.length };
  }

  async run<T>(paths: readonly (string | Hold)[], fn: () => Promise<T>): Promise<T> {
    const s: Section = { holds: toHolds(paths), seq: this.seq++ };
    if (this.mayStart(s, this.waiting)) this.held.add(s);
    else await new Promise<void>((start) => this.waiting.push(Object.assign(s, { start })));
    try {
      return await fn();
    } finally {
      this.held.delete(s);
      this.wake();
    }
  }

  /** True when `w` is blocked by a running section that arrived before it. */
  private blockedByElder(w: Section): boolean {
    for (const h of this.held) if (h.seq < w.seq && conflict(h.holds, w.holds)) return true;
    return false;
  }

  /** `s` may start when nothing running conflicts with it and it may overtake every earlier waiter it conflicts with. */
  private mayStart(s: Section, ahead: readonly Section[]): boolean {
    for (const h of this.held) if (conflict(h.holds, s.holds)) return false;
    for (const w of ahead) {
      if (w === s || w.seq > s.seq) continue;
      if (conflict(w.holds, s.holds) && !this.blockedByElder(w)) return false;
    }
    return true;
  }

  /** Starts every waiter that may start now, in arrival order. */
  private wake(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      if (this.mayStart(w, this.waiting)) {
        this.waiting.splice(i, 1);
        this.held.add(w);
        w.start!(); // a start blocks more, never less: the waiters before i stay where they are
      } else i++;
    }
  }
}
