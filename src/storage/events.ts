/**
 * Tree events: what a write did to the tree, told to everything that keeps data about resources
 * (dead properties, locks, checksums, and later trash, quotas). Storage tree operations report
 * their changes; the write spine (src/dav/write.ts) publishes them inside the critical section,
 * after the filesystem effect and before the response, to every subscriber.
 *
 * Semantics (paths are DAV paths; "below" means the whole subtree of a collection):
 * - created(path): a new resource exists where none was. Anything kept for `path` or below it
 *   belongs to an earlier resource (or to files deleted outside WebDAV) and must go.
 * - replaced(path): a file's content was replaced in place (PUT over a file). The resource is the
 *   same: dead properties and locks stay; content-derived data (checksums) must be renewed.
 *   `previousId` is the replaced content's ResourceInfo.id, where the backend has one.
 * - removed(path): the resource and everything below it are gone. With `overwritten`, it was
 *   removed to make room for a COPY or MOVE to the same URL (RFC 4918 9.8.4, 9.9.3): locks rooted
 *   at `path` itself stay and cover the new resource (7.6), everything else goes.
 * - moved(from, to): the resource and everything below it now live at `to`; nothing is left at
 *   `from`. Data follows it, except locks, which never move (7.6). A removed(to, overwritten)
 *   comes first when something was replaced.
 * - copied(from, to): the resource at `from` was duplicated at `to`; with `deep`, its whole
 *   subtree too, otherwise members come as their own copied events (a partial copy names only
 *   what was copied). Data follows (dead properties, checksums), except locks (7.6). `to` is a
 *   new resource: as for created, data kept for `to` before belongs to no one.
 * Events of one operation come in order, a parent before its members.
 * A created or replaced file may carry `content`: what the writer knows of the bytes it stored
 * (their checksums, hashed as they were received), so a subscriber renews its data in the same
 * step as it drops the old (one hand-off per PUT instead of two).
 */
import type { ResourceInfo } from './backend.js';
import type { Digests } from '../checksums/digests.js';

export type TreeChange =
  | { type: 'created'; path: string; isCollection: boolean; content?: NewContent }
  | { type: 'replaced'; path: string; previousId?: string; content?: NewContent }
  | { type: 'removed'; path: string; isCollection: boolean; overwritten?: boolean }
  | { type: 'moved'; from: string; to: string; isCollection: boolean }
  | { type: 'copied'; from: string; to: string; isCollection: boolean; deep: boolean };

/** What a writer knows of a file's new content: its stat as stored and its checksums. */
export interface NewContent {
  info: ResourceInfo;
  digests: Digests;
}

/** A subscriber: gets every change of one operation at once, in order. */
export type TreeListener = (changes: readonly TreeChange[]) => Promise<void> | void;

export type ListenerErrorLog = (err: unknown, listener: string) => void;

export interface TreeEventSource {
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: TreeListener, name?: string): () => void;
}

export interface TreeEventSink {
  /**
   * Tells every listener and waits for all. Listeners keep data of their own (properties, locks,
   * checksums), so they run side by side: their hand-offs to the fs worker travel together. A
   * failing listener is logged: the filesystem effect already happened, so it is never turned
   * into an error answer.
   */
  publish(changes: readonly TreeChange[]): Promise<void>;
}

export class TreeEvents implements TreeEventSource, TreeEventSink {
  private readonly listeners: { fn: TreeListener; name: string }[] = [];

  constructor(private readonly onError: ListenerErrorLog = (err, name) => console.error(`[tree-events] ${name} failed:`, err)) {}

  subscribe(fn: TreeListener, name = fn.name || 'listener'): () => void {
    const entry = { fn, name };
    this.listeners.push(entry);
    return () => {
      const i = this.listeners.indexOf(entry);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  async publish(changes: readonly TreeChange[]): Promise<void> {
    if (changes.length === 0) return;
    await Promise.all(
      this.listeners.map(async (l) => {
        try {
          await l.fn(changes);
        } catch (e) {
          this.onError(e, l.name);
        }
      }),
    );
  }
}

/** The same events with every path moved below `scope` (a user's root): what a scoped view publishes. */
export function scopeChanges(changes: readonly TreeChange[], abs: (path: string) => string): TreeChange[] {
  return changes.map((c) => {
    switch (c.type) {
      case 'moved':
      case 'copied':
        return { ...c, from: abs(c.from), to: abs(c.to) };
      default:
        return { ...c, path: abs(c.path) };
    }
  });
}

/** A sink that publishes below `scope` in another sink (per-user roots). */
export class ScopedTreeEvents implements TreeEventSink {
  constructor(
    private readonly inner: TreeEventSink,
    private readonly abs: (path: string) => string,
  ) {}

  publish(changes: readonly TreeChange[]): Promise<void> {
    return this.inner.publish(scopeChanges(changes, this.abs));
  }
}
