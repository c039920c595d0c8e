/**
 * The checks every state-changing request passes before it touches storage: the If header
 * (RFC 4918 10.4; false -> 412) and the write locks on every resource the method affects
 * (7.x; a lock whose token was not submitted -> 423 lock-token-submitted). The write spine
 * (src/dav/write.ts) runs them inside the critical section against fresh state; reads (GET,
 * PROPFIND) evaluate the If header alone.
 */
import { DavError } from '../errors.js';
import type { LockInfo, LockManager } from '../locks/manager.js';
import type { ResourceInfo, StorageBackend } from '../storage/backend.js';
import { evaluateIf, parseIfHeader, submittedTokens, type IfList, type ResourceState } from './if-header.js';
import { hrefFor, isSelfOrDescendant, parentPath } from './path.js';
import { resolveReference, type ResolveContext } from './resolve.js';

export interface GuardRequest {
  /** Raw If header, if any. */
  ifHeader?: string;
  /** DAV path of the Request-URI (what untagged lists apply to). */
  path: string;
  /** How tags are resolved: the same resolver as the Request-URI and Destination. */
  resolve: ResolveContext;
  prefix: string;
  /** Authenticated user; a lock taken by another principal cannot be used. */
  user?: string;
}

/** A resource the method changes. */
export interface WriteTarget {
  path: string;
  /** The method adds or removes `path` as a member of its parent (PUT/MKCOL of a new resource, DELETE, MOVE). */
  membership?: boolean;
  /** The method changes everything below `path` too (DELETE, MOVE or COPY over a collection). */
  tree?: boolean;
  /**
   * Nothing exists at `path` now: locks rooted at or below it belong to no resource (its files
   * were deleted outside WebDAV) and protect nothing; the new resource does not inherit them.
   */
  vacant?: boolean;
}

export class Guard {
  private lists: IfList[] | undefined;
  private tokens: Set<string> = new Set();
  /** Fresh state of resources the caller already looked up inside its critical section. */
  private known = new Map<string, ResourceInfo | null>();

  constructor(
    private readonly req: GuardRequest,
    private readonly storage: StorageBackend,
    private readonly locks: LockManager,
  ) {
    if (req.ifHeader !== undefined) {
      this.lists = parseIfHeader(req.ifHeader);
      this.tokens = submittedTokens(this.lists);
    }
  }

  /** Lock tokens submitted in the If header. */
  get submitted(): ReadonlySet<string> {
    return this.tokens;
  }

  /** Hands over state looked up inside the critical section (so the If header sees it, not an older stat). */
  useState(state: ReadonlyMap<string, ResourceInfo | null>): void {
    this.known = new Map(state);
  }

  /** DAV path a resource tag names, or null when it is not on this server. */
  async tagPath(tag: string): Promise<string | null> {
    try {
      const path = await resolveReference(tag, this.req.resolve);
      return path === null || this.storage.isReserved(path) ? null : path;
    } catch {
      return null;
    }
  }

  private async stateOf(tag: string | undefined): Promise<ResourceState> {
    const path = tag === undefined ? this.req.path : await this.tagPath(tag);
    if (path === null) return { etag: null, lockTokens: new Set() };
    const [info, locks] = await Promise.all([this.known.has(path) ? this.known.get(path)! : this.storage.stat(path), this.locks.covering(path)]);
    // A lock rooted at a path where nothing exists covers no resource (see WriteTarget.vacant).
    const live = info ? locks : locks.filter((l) => !isSelfOrDescendant(l.root, path));
    return { etag: info?.etag ?? null, lockTokens: new Set(live.map((l) => l.token)) };
  }

  /** 412 when the If header evaluates to false. */
  async checkIf(): Promise<void> {
    if (!this.lists) return;
    if (!(await evaluateIf(this.lists, (t) => this.stateOf(t)))) throw new DavError(412, 'If header precondition failed');
  }

  /** True when the request may use `lock`: token submitted and (with auth) same principal. */
  owns(lock: LockInfo): boolean {
    return this.tokens.has(lock.token) && (lock.principal === undefined || lock.principal === this.req.user);
  }

  /** 423 naming the first lock that protects a target and whose token was not submitted. */
  async checkLocks(targets: WriteTarget[]): Promise<void> {
    for (const t of targets) {
      let found = await this.locks.covering(t.path, { descendants: t.tree });
      if (t.vacant) found = found.filter((l) => !isSelfOrDescendant(l.root, t.path));
      if (t.membership && t.path !== '/') {
        // A depth-0 lock on a collection protects its membership too (7.5).
        for (const l of await this.locks.covering(parentPath(t.path))) if (l.root === parentPath(t.path)) found.push(l);
      }
      // Shared locks on one root are alternatives (a holder knows only its own token, and any
      // shared-lock holder may write: RFC 4918 6.2, 7.1); locks on different roots (e.g. the
      // parent's and the member's) each need theirs.
      const blocking = found.find((l) => !found.some((o) => o.root === l.root && this.owns(o)));
      if (blocking) throw await this.lockedError(blocking, 'lock-token-submitted');
    }
  }

  async lockedError(lock: LockInfo, condition: string): Promise<DavError> {
    const info = this.known.has(lock.root) ? this.known.get(lock.root)! : await this.storage.stat(lock.root).catch(() => null);
    const href = hrefFor(this.req.prefix, lock.root, info?.isCollection ?? false);
    return new DavError(423, 'Locked', { condition, hrefs: [href] });
  }

  async check(targets: WriteTarget[]): Promise<void> {
    await this.checkIf();
    await this.checkLocks(targets);
  }
}
