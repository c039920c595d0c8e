/**
 * The write spine: every method that changes anything (PUT, DELETE, MKCOL, PROPPATCH, COPY,
 * MOVE, LOCK, UNLOCK) runs its effect through withWrite(ctx, plan, fn):
 *
 * 1. it enters one critical section over the plan's paths: writers for what the method changes,
 *    readers for what it only reads (COPY's source, so a MOVE or DELETE of the source waits
 *    while COPYs of one source run side by side);
 * 2. inside, it looks every planned path up again (fresh state, never a stat from before) and
 *    runs the plan's own checks of that state (404 of a missing source, 409 of a missing parent);
 * 3. it evaluates the RFC 7232 conditionals, the If header (tags resolved like the Request-URI)
 *    and the write locks of every resource the plan touches, derived from the fresh state;
 * 4. it hands the fresh state to `fn`, whose storage effects go through `tx`: each one checks
 *    that the section is still held, runs, and publishes its tree changes to every subscriber
 *    (dead properties, locks, ...) before the next step. A subscriber that fails is logged; the
 *    effect stands and the answer says what happened on disk.
 *
 * The README's architecture section has the table of what each method holds and why.
 */
import type { DavContext } from '../context.js';
import type { Hold, HeldSection } from '../locks/manager.js';
import { LockStoreUnavailable } from '../locks/errors.js';
import type { CommitResult, PendingUpload, ResourceInfo, StorageBackend, TreeResult } from '../storage/backend.js';
import type { TreeChange, TreeEventSink } from '../storage/events.js';
import type { Digests } from '../checksums/digests.js';
import { guardFor, checkConditionals } from '../methods/common.js';
import type { Guard, WriteTarget } from './guard.js';

/**
 * What a method does to one path; decides which locks protect it (RFC 4918 7.4-7.6):
 * - `file`: creates or replaces a file there (PUT, LOCK on an unmapped URL);
 * - `collection`: creates a collection there (MKCOL);
 * - `remove`: removes it and everything below (DELETE, the source of MOVE);
 * - `replace`: puts a copy there, replacing what exists and everything below (COPY/MOVE destination);
 * - `state`: changes the resource's own state (PROPPATCH);
 * - `lock`: takes or refreshes a lock there; conflicts are the lock manager's rules (9.10), so
 *   only a resource it creates is checked against its parent's locks;
 * - `unlock`: releases a lock there (UNLOCK): the lock token is the authority (9.11), no lock is
 *   checked and nothing is created, so the path is held but not looked up (an If header, when
 *   there is one, looks up what it names inside the section).
 */
export type WriteEffect = 'file' | 'collection' | 'remove' | 'replace' | 'state' | 'lock' | 'unlock';

export interface WritePlan {
  writes: { path: string; effect: WriteEffect }[];
  /** Paths only read (held as readers). */
  reads?: string[];
  /**
   * Paths only looked up with the others, not held (COPY/MOVE's destination parent: holding it
   * would make every write in that folder wait).
   */
  peek?: string[];
  /**
   * Checks of the fresh state that come before the conditionals, the If header and the locks:
   * a missing source is 404 and a missing destination parent 409 whoever holds a lock.
   */
  check?: (info: (path: string) => ResourceInfo | null) => void;
  /** Where RFC 7232 conditionals (If-Match, If-None-Match, ...) apply: the Request-URI by default, null for none. */
  conditionals?: string | null;
}

export interface WriteState {
  /** State of a planned path, looked up inside the section. */
  info(path: string): ResourceInfo | null;
  guard: Guard;
  held: HeldSection;
  tx: WriteTx;
}

/** Storage effects inside a section: each checks the hold, runs, then publishes what changed. */
export class WriteTx {
  constructor(
    private readonly storage: StorageBackend,
    private readonly events: TreeEventSink,
    private readonly held: HeldSection,
  ) {}

  /** Throws (503) when the section was lost: a shared lock store's lease could not be kept. */
  private ensureHeld(): void {
    if (!this.held.stillHeld()) throw new LockStoreUnavailable('the write lease was lost before the write');
  }

  /** Publishes changes made by some other means (a backend capability outside the tree operations). */
  publish(changes: readonly TreeChange[]): Promise<void> {
    return this.events.publish(changes);
  }

  /**
   * Makes a staged upload the content of its path. `digests` are the checksums of its bytes: they
   * travel with the change, so the checksum records are renewed in the same step as the rest.
   */
  async commit(upload: PendingUpload, current: ResourceInfo | null, opts: { mtimeMs?: number; digests?: Digests | null } = {}): Promise<CommitResult> {
    this.ensureHeld();
    const r = await upload.commit(current, { mtimeMs: opts.mtimeMs });
    const digests = opts.digests;
    await this.events.publish(digests ? r.changes.map((c) => (c.type === 'created' || c.type === 'replaced' ? { ...c, content: { info: r.info, digests } } : c)) : r.changes);
    return r;
  }

  async mkdir(path: string): Promise<void> {
    this.ensureHeld();
    await this.events.publish(await this.storage.mkdir(path));
  }

  /** True when the empty file was created (nothing was there). */
  async createEmpty(path: string): Promise<boolean> {
    this.ensureHeld();
    const changes = await this.storage.createEmpty(path);
    await this.events.publish(changes);
    return changes.length > 0;
  }

  private async tree(op: () => Promise<TreeResult>): Promise<TreeResult> {
    this.ensureHeld();
    const r = await op();
    await this.events.publish(r.changes);
    return r;
  }

  remove(path: string): Promise<TreeResult> {
    return this.tree(() => this.storage.remove(path));
  }

  copy(src: string, dst: string, opts: { recursive: boolean }): Promise<TreeResult> {
    return this.tree(() => this.storage.copy(src, dst, opts));
  }

  move(src: string, dst: string): Promise<TreeResult> {
    return this.tree(() => this.storage.move(src, dst));
  }
}

/** The write-lock targets of a plan, from the fresh state (RFC 4918 7.4, 7.5, 9.6.1, 9.9.3). */
export function lockTargets(plan: WritePlan, info: (path: string) => ResourceInfo | null): WriteTarget[] {
  const out: WriteTarget[] = [];
  for (const { path, effect } of plan.writes) {
    if (effect === 'unlock') continue; // nothing is checked (see WriteEffect)
    const now = info(path);
    const vacant = now === null;
    switch (effect) {
      case 'file':
      case 'collection':
        out.push({ path, membership: vacant, vacant });
        break;
      case 'remove':
        out.push({ path, membership: true, tree: now?.isCollection ?? false, vacant });
        break;
      case 'replace':
        out.push({ path, membership: vacant, tree: now?.isCollection ?? false, vacant });
        break;
      case 'state':
        out.push({ path, vacant });
        break;
      case 'lock':
        if (vacant) out.push({ path, membership: true, vacant });
        break;
    }
  }
  return out;
}

export async function withWrite<T>(ctx: DavContext, plan: WritePlan, fn: (s: WriteState) => Promise<T>): Promise<T> {
  const { storage, locks, events } = ctx.state.services;
  const guard = guardFor(ctx);
  const holds: Hold[] = [...plan.writes.map((w) => ({ path: w.path, mode: 'write' as const })), ...(plan.reads ?? []).map((path) => ({ path, mode: 'read' as const }))];
  return locks.exclusive(holds, async (held) => {
    const unlooked = new Set(plan.writes.filter((w) => w.effect === 'unlock').map((w) => w.path));
    const paths = [...new Set([...holds.map((h) => h.path), ...(plan.peek ?? [])])].filter((p) => !unlooked.has(p));
    const infos = await Promise.all(paths.map((p) => storage.stat(p)));
    const state = new Map(paths.map((p, i) => [p, infos[i]!]));
    const info = (path: string): ResourceInfo | null => {
      if (!state.has(path)) throw new Error(`withWrite: ${path} is not in the plan`);
      return state.get(path)!;
    };
    plan.check?.(info);
    const target = plan.conditionals === undefined ? ctx.state.path : plan.conditionals;
    if (target !== null) checkConditionals(ctx, state.has(target) ? state.get(target)! : await storage.stat(target));
    guard.useState(state);
    await guard.check(lockTargets(plan, info));
    return fn({ info, guard, held, tx: new WriteTx(storage, events, held) });
  });
}
