/**
 * Locks follow the tree: the LockManager's subscriber to tree events (src/storage/events.ts).
 * A removed resource takes its locks and those below it (RFC 4918 9.6.1); a moved one leaves
 * its locks behind, where they go (7.6: locks never move); a resource created, copied or moved
 * to a URL where nothing was starts without the locks of an earlier resource there (deleted
 * outside WebDAV); a resource that replaces another through COPY or MOVE stays under the lock on
 * its URL (7.6), while the locks of the members it replaced go.
 */
import type { LockManager } from './manager.js';
import type { TreeChange, TreeListener } from '../storage/events.js';

export function locksFollowTree(locks: LockManager): TreeListener {
  return async function locksListener(changes: readonly TreeChange[]): Promise<void> {
    /** URLs whose resource was overwritten in this operation: their own locks stay. */
    const overwritten = new Set<string>();
    for (const c of changes) {
      switch (c.type) {
        case 'removed':
          if (c.overwritten) overwritten.add(c.path);
          await locks.dropTree(c.path, { below: c.overwritten });
          break;
        case 'created':
          await locks.dropTree(c.path);
          break;
        case 'moved':
          await locks.dropTree(c.from);
          if (!overwritten.has(c.to)) await locks.dropTree(c.to);
          break;
        case 'copied':
          if (!overwritten.has(c.to)) await locks.dropTree(c.to);
          break;
        case 'replaced':
          break;
      }
    }
  };
}
