/**
 * In-process critical sections keyed by DAV path. Two sections conflict when one path is the
 * other or an ancestor of it, so a depth-infinity LOCK on /a and a PUT on /a/b never interleave
 * their check-then-write steps, while writes to unrelated paths run side by side.
 */
import { isSelfOrDescendant } from '../dav/path.js';

interface Waiter {
  paths: string[];
  start: () => void;
}

const overlaps = (a: string, b: string): boolean => isSelfOrDescendant(a, b) || isSelfOrDescendant(b, a);

export class PathMutex {
  private readonly held: string[][] = [];
  private readonly waiting: Waiter[] = [];

  private blocked(paths: string[], ahead: Waiter[]): boolean {
    const busy = (set: string[]): boolean => set.some((h) => paths.some((p) => overlaps(h, p)));
    return this.held.some(busy) || ahead.some((w) => busy(w.paths));
  }

  async run<T>(paths: string[], fn: () => Promise<T>): Promise<T> {
    if (this.blocked(paths, this.waiting)) {
      await new Promise<void>((start) => this.waiting.push({ paths, start }));
    } else {
      this.held.push(paths);
    }
    try {
      return await fn();
    } finally {
      this.held.splice(this.held.indexOf(paths), 1);
      this.wake();
    }
  }

  /** Starts waiters in arrival order; a waiter never overtakes an earlier one it overlaps. */
  private wake(): void {
    const ahead: Waiter[] = [];
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      if (!this.blocked(w.paths, ahead)) {
        this.waiting.splice(i, 1);
        this.held.push(w.paths);
        w.start();
      } else {
        ahead.push(w);
        i++;
      }
    }
  }
}
