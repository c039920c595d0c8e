/**
 * LOCK (RFC 4918 9.10): create (with a lockinfo body) or refresh (no body, token in If).
 * A LOCK on an unmapped URL creates an empty resource and answers 201 (9.10.4, 7.3).
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { guardFor, href, readXml } from './common.js';
import { withWrite } from '../dav/write.js';
import type { Guard } from '../dav/guard.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, statusResponse } from '../xml/multistatus.js';
import { MAX_LOCK_OWNER_BYTES, MAX_LOCKS_PER_PRINCIPAL, MAX_LOCKS_PER_RESOURCE } from '../storage/caps.js';
import { parseDepth, parseLockToken, parseTimeout } from '../dav/headers.js';
import { bareLockToken } from '../dav/if-header.js';
import { isSelfOrDescendant, parentPath } from '../dav/path.js';
import { DAV_NS } from '../xml/names.js';
import { childElements, findChild, isNamed, type XmlElement } from '../xml/parse.js';
import { serializeChildren, XML_DECL } from '../xml/write.js';
import { activeLockXml } from '../xml/lock.js';
import { conflicts, type LockInfo, type LockScope } from '../locks/manager.js';

export interface LockRequest {
  scope: LockScope;
  ownerXml: string;
}

/** Reads a lockinfo body (14.11): scope, type (write only) and owner, kept verbatim. */
export function parseLockInfo(root: XmlElement): LockRequest {
  if (!isNamed(root, DAV_NS, 'lockinfo')) throw new DavError(400, 'Expected a DAV:lockinfo body');
  const scopeEl = findChild(root, DAV_NS, 'lockscope');
  const typeEl = findChild(root, DAV_NS, 'locktype');
  if (!scopeEl || !typeEl) throw new DavError(400, 'lockinfo needs lockscope and locktype');
  const scope = childElements(scopeEl)[0];
  if (!scope || scope.ns !== DAV_NS || (scope.local !== 'exclusive' && scope.local !== 'shared')) throw new DavError(400, 'lockscope must be exclusive or shared');
  const type = childElements(typeEl)[0];
  if (!type || !isNamed(type, DAV_NS, 'write')) throw new DavError(422, 'Only write locks are supported');
  const owner = findChild(root, DAV_NS, 'owner');
  return { scope: scope.local, ownerXml: owner ? serializeChildren(owner) : '' };
}

function respond(ctx: DavContext, lock: LockInfo, status: number, rootIsCollection: boolean, isNew: boolean): void {
  ctx.status = status;
  ctx.type = 'application/xml; charset=utf-8';
  // 9.10.2: a refresh does not return Lock-Token; only a new lock does (9.10.1, 10.5).
  if (isNew) ctx.set('Lock-Token', `<${lock.token}>`);
  ctx.body = `${XML_DECL}<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, href(ctx, lock.root, rootIsCollection), Date.now())}</D:lockdiscovery></D:prop>`;
}

function checkOwner(req: LockRequest): void {
  if (Buffer.byteLength(req.ownerXml) > MAX_LOCK_OWNER_BYTES) throw new DavError(413, `A lock owner may hold at most ${MAX_LOCK_OWNER_BYTES} bytes of XML`);
}

/**
 * 9.10.3: a depth-infinity LOCK refused because of a lock on a member answers 207 naming that
 * member (423) and the Request-URI (424); a conflict at the resource or above is a plain 423.
 */
async function conflictAnswer(ctx: DavContext, path: string, conflict: LockInfo, guard: Guard): Promise<never | void> {
  if (conflict.root !== path && isSelfOrDescendant(conflict.root, path)) {
    const member = await ctx.state.services.storage.stat(conflict.root).catch(() => null);
    const memberHref = href(ctx, conflict.root, member?.isCollection ?? false);
    ctx.status = 207;
    ctx.type = 'application/xml; charset=utf-8';
    ctx.body =
      MULTISTATUS_OPEN +
      statusResponse(memberHref, 423, { condition: 'no-conflicting-lock', hrefs: [memberHref] }) +
      statusResponse(href(ctx, path, true), 424) +
      MULTISTATUS_CLOSE;
    return;
  }
  throw await guard.lockedError(conflict, 'no-conflicting-lock');
}

export async function lock(ctx: DavContext): Promise<void> {
  const { path, services, user } = ctx.state;
  const { storage, locks, options } = services;
  const body = await readXml(ctx);
  const timeoutSec = parseTimeout(ctx.get('timeout') || undefined, options.defaultLockTimeout, options.maxLockTimeout);

  // The npm `webdav` library refreshes with its lockinfo body again and the bare token as If.
  if (!body || bareLockToken(ctx.get('if')) !== undefined) {
    // Refresh (9.10.2): the lock is identified by a token in the If header.
    if (!ctx.get('if')) throw new DavError(400, 'A LOCK without a body must carry the lock token in an If header');
    const refreshed = await withWrite(ctx, { writes: [{ path, effect: 'lock' }] }, async ({ info, guard }) => {
      const candidates = (await locks.covering(path)).filter((l) => guard.owns(l) && (info(path) !== null || !isSelfOrDescendant(l.root, path)));
      if (candidates.length === 0) throw new DavError(412, 'No lock on this resource matches the submitted token', { condition: 'lock-token-matches-request-uri' });
      const r = await locks.refresh(candidates[0]!.token, timeoutSec);
      if (!r) throw new DavError(412, 'The lock has expired');
      return { lock: r, isCollection: r.root === path ? (info(path)?.isCollection ?? false) : true };
    });
    respond(ctx, refreshed.lock, 200, refreshed.isCollection, false);
    return;
  }

  const req = parseLockInfo(body);
  checkOwner(req);
  const depth = parseDepth(ctx.get('depth') || undefined, 'infinity', [0, 'infinity']) as 0 | 'infinity';
  type Outcome = { conflict: LockInfo } | { lock: LockInfo; made: boolean; isCollection: boolean };
  const result = await withWrite(ctx, { writes: [{ path, effect: 'lock' }] }, async ({ info, tx }): Promise<Outcome> => {
    const now = info(path);
    // An unmapped URL ending in '/' cannot become the empty file a LOCK creates.
    if (ctx.state.collectionUrl && !now?.isCollection) throw new DavError(409, 'A URL ending in / names a collection');
    if (!now) {
      const parent = await storage.stat(parentPath(path));
      if (!parent?.isCollection) throw new DavError(409, 'Parent collection does not exist');
    }
    const newLock = { root: path, scope: req.scope, depth, ownerXml: req.ownerXml, principal: user, timeoutSec };
    // Locks rooted at an unmapped URL cover nothing (their resource is gone); a conflict with a
    // live lock is found before anything is created.
    const live = (await locks.covering(path, { descendants: depth === 'infinity' })).filter((l) => now !== null || !isSelfOrDescendant(l.root, path));
    const early = live.find((l) => conflicts(l, req.scope));
    if (early) return { conflict: early };
    if (live.filter((l) => l.root === path).length >= MAX_LOCKS_PER_RESOURCE) throw new DavError(507, `A resource may carry at most ${MAX_LOCKS_PER_RESOURCE} locks`);
    // 7.3, 9.10.4: a LOCK on an unmapped URL creates an empty resource (which starts clean).
    const made = now ? false : await tx.createEmpty(path);
    let created;
    try {
      created = await locks.create(newLock, { maxPerPrincipal: MAX_LOCKS_PER_PRINCIPAL });
    } catch (e) {
      // Not granted (the lock store could not persist it, or a cap): the empty file goes too.
      if (made) await tx.remove(path).catch(() => undefined);
      throw e;
    }
    if ('conflict' in created) {
      if (made) await tx.remove(path);
      return { conflict: created.conflict };
    }
    return { lock: created.lock, made, isCollection: now?.isCollection ?? false };
  });
  if ('conflict' in result) return conflictAnswer(ctx, path, result.conflict, guardFor(ctx));
  respond(ctx, result.lock, result.made ? 201 : 200, result.isCollection, true);
}

export async function unlock(ctx: DavContext): Promise<void> {
  const { path, services, user } = ctx.state;
  const { locks } = services;
  const token = parseLockToken(ctx.get('lock-token'));
  await withWrite(ctx, { writes: [{ path, effect: 'unlock' }], conditionals: null }, async () => {
    const l = await locks.byToken(token);
    // 9.11.1: the token must identify a lock whose scope includes the Request-URI.
    const covers = l && (l.root === path || (l.depth === 'infinity' && isSelfOrDescendant(path, l.root)));
    if (!l || !covers) throw new DavError(409, 'The lock token does not match a lock on this resource', { condition: 'lock-token-matches-request-uri' });
    if (l.principal !== undefined && l.principal !== user) throw new DavError(403, 'The lock belongs to another user');
    await locks.remove(token);
  });
  ctx.status = 204;
  ctx.body = null;
}
