/**
 * LOCK (RFC 4918 9.10): create (with a lockinfo body) or refresh (no body, token in If).
 * A LOCK on an unmapped URL creates an empty resource and answers 201 (9.10.4, 7.3).
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { checkConditionals, guardFor, href, readXml } from './common.js';
import { parseDepth, parseLockToken, parseTimeout } from '../dav/headers.js';
import { bareLockToken } from '../dav/if-header.js';
import { isSelfOrDescendant, parentPath } from '../dav/path.js';
import { DAV_NS } from '../xml/names.js';
import { childElements, findChild, isNamed, type XmlElement } from '../xml/parse.js';
import { serializeChildren, XML_DECL } from '../xml/write.js';
import { activeLockXml } from '../xml/lock.js';
import type { LockInfo, LockScope } from '../locks/manager.js';

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

export async function lock(ctx: DavContext): Promise<void> {
  const { path, services, user } = ctx.state;
  const { storage, locks, options } = services;
  const body = await readXml(ctx);
  const timeoutSec = parseTimeout(ctx.get('timeout') || undefined, options.defaultLockTimeout, options.maxLockTimeout);
  const guard = guardFor(ctx);

  // The npm `webdav` library refreshes with its lockinfo body again and the bare token as If.
  if (!body || bareLockToken(ctx.get('if')) !== undefined) {
    // Refresh (9.10.2): the lock is identified by a token in the If header.
    if (!ctx.get('if')) throw new DavError(400, 'A LOCK without a body must carry the lock token in an If header');
    const info = await storage.stat(path);
    await guard.checkIf();
    const candidates = (await locks.covering(path)).filter((l) => guard.owns(l));
    if (candidates.length === 0) throw new DavError(412, 'No lock on this resource matches the submitted token', { condition: 'lock-token-matches-request-uri' });
    const refreshed = await locks.refresh(candidates[0]!.token, timeoutSec);
    if (!refreshed) throw new DavError(412, 'The lock has expired');
    respond(ctx, refreshed, 200, refreshed.root === path ? (info?.isCollection ?? false) : true, false);
    return;
  }

  const req = parseLockInfo(body);
  const depth = parseDepth(ctx.get('depth') || undefined, 'infinity', [0, 'infinity']) as 0 | 'infinity';
  const result = await locks.exclusive([path], async () => {
    const info = await storage.stat(path);
    // An unmapped URL ending in '/' cannot become the empty file a LOCK creates.
    if (ctx.state.collectionUrl && !info?.isCollection) throw new DavError(409, 'A URL ending in / names a collection');
    if (!info) {
      const parent = await storage.stat(parentPath(path));
      if (!parent?.isCollection) throw new DavError(409, 'Parent collection does not exist');
    }
    checkConditionals(ctx, info);
    await guard.checkIf();
    // Creating the empty resource adds a member to the parent collection.
    if (!info) await guard.checkLocks([{ path, membership: true }]);
    const created = await locks.create({ root: path, scope: req.scope, depth, ownerXml: req.ownerXml, principal: user, timeoutSec });
    if ('conflict' in created) throw await guard.lockedError(created.conflict, 'no-conflicting-lock');
    let made = false;
    if (!info) {
      try {
        made = await storage.createEmpty(path);
      } catch (e) {
        await locks.remove(created.lock.token);
        throw e;
      }
    }
    return { lock: created.lock, made, isCollection: info?.isCollection ?? false };
  });
  respond(ctx, result.lock, result.made ? 201 : 200, result.isCollection, true);
}

export async function unlock(ctx: DavContext): Promise<void> {
  const { path, services, user } = ctx.state;
  const { locks } = services;
  const token = parseLockToken(ctx.get('lock-token'));
  await locks.exclusive([path], async () => {
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
