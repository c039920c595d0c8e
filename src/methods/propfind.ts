/**
 * PROPFIND (RFC 4918 9.1): Depth 0, 1 and infinity; allprop (+include), propname, prop.
 * The 207 body is streamed as entries are produced, so memory stays flat with directory size,
 * and per-entry work is limited to what the request asks for.
 */
import { Readable } from 'node:stream';
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { fileAtCollectionUrl, guardFor, href, readXml } from './common.js';
import { parseDepth } from '../dav/headers.js';
import { ALLPROP_LIVE, NAMED_ONLY_LIVE, OTHER_LIVE, WRITABLE_LIVE, allpropResponse, isLiveProp, simpleLiveProp } from '../dav/live-props.js';
import { checksumsPropXml } from '../checksums/digests.js';
import { baseName, joinPath } from '../dav/path.js';
import { DAV_NS, OC_NS, qkey, type QName } from '../xml/names.js';
import { childElements, isNamed, type XmlElement } from '../xml/parse.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, propstatResponse, type Propstat } from '../xml/multistatus.js';
import { propTag } from '../xml/write.js';
import { activeLockXml, lockDiscoveryXml } from '../xml/lock.js';
import type { DeadProperty, ListEntry, Quota, ResourceInfo } from '../storage/backend.js';
import { isLockStoreUnavailable } from '../locks/errors.js';
import { setCollectionLocation } from './get.js';
import { isOsJunk } from '../middleware/os-junk.js';
import { isStorageError } from '../storage/errors.js';
import { MAX_TREE_DEPTH } from '../storage/walk.js';
import { compressBody } from '../middleware/compress.js';

export type PropfindRequest = { kind: 'allprop'; include: QName[] } | { kind: 'propname' } | { kind: 'prop'; names: QName[] };

/** Interprets a propfind body (14.20); an empty body is allprop (9.1). */
export function parsePropfind(root: XmlElement | null): PropfindRequest {
  if (!root) return { kind: 'allprop', include: [] };
  if (!isNamed(root, DAV_NS, 'propfind')) throw new DavError(400, 'Expected a DAV:propfind body');
  const kids = childElements(root);
  const prop = kids.find((k) => isNamed(k, DAV_NS, 'prop'));
  const allprop = kids.find((k) => isNamed(k, DAV_NS, 'allprop'));
  const propname = kids.find((k) => isNamed(k, DAV_NS, 'propname'));
  const include = kids.find((k) => isNamed(k, DAV_NS, 'include'));
  const names = (el: XmlElement): QName[] => childElements(el).map((e) => ({ ns: e.ns, local: e.local }));
  if ([prop, allprop, propname].filter(Boolean).length !== 1) throw new DavError(400, 'propfind needs exactly one of prop, allprop, propname');
  if (prop) return { kind: 'prop', names: names(prop) };
  if (propname) return { kind: 'propname' };
  return { kind: 'allprop', include: include ? names(include) : [] };
}

const CHUNK = 64 * 1024;

export async function propfind(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage, locks } = services;
  const depth = parseDepth(ctx.get('depth') || undefined, 'infinity');
  // 9.1: a server may refuse Depth: infinity (an absent Depth means infinity) with this condition.
  if (depth === 'infinity' && services.options.depthInfinity === 'off') {
    throw new DavError(403, 'Depth: infinity is not allowed here; list with Depth: 1', { condition: 'propfind-finite-depth' });
  }
  const request = parsePropfind(await readXml(ctx));
  const info = await storage.stat(path);
  if (!info || fileAtCollectionUrl(ctx, info)) throw new DavError(404, 'Not found');
  if (info.isCollection) setCollectionLocation(ctx);
  const hideJunk = services.options.hideOsJunk;
  if (ctx.get('if')) await guardFor(ctx).checkIf();

  // A writable live property (displayname) set by PROPPATCH is stored dead and wins over the live value.
  const wantsDead = request.kind !== 'prop' || request.names.some((n) => !(isLiveProp(n.ns, n.local) || OTHER_LIVE.has(qkey(n.ns, n.local))) || WRITABLE_LIVE.has(qkey(n.ns, n.local)));
  const wantsLocks = request.kind === 'allprop' || (request.kind === 'prop' && request.names.some((n) => n.ns === DAV_NS && n.local === 'lockdiscovery'));
  const named = request.kind === 'prop' ? request.names : request.kind === 'allprop' ? request.include : [];
  const wantsQuota = named.some((n) => n.ns === DAV_NS && NAMED_ONLY_LIVE.includes(n.local as never));
  // oc:checksums (ownCloud/Nextcloud, read by rclone): only when named, since a file without a
  // known checksum is read to compute it.
  const isChecksums = (n: QName): boolean => n.ns === OC_NS && n.local === 'checksums';
  const wantsChecksums = named.some(isChecksums);

  // One lookup for the whole response: when no lock covers the request path or anything
  // below it, every entry's lockdiscovery is empty and needs no per-entry lookup. If the lock
  // store is down, every entry reports lockdiscovery in a 503 propstat instead.
  let anyLocks = wantsLocks;
  let locksDown = false;
  if (wantsLocks) {
    try {
      anyLocks = (await locks.covering(path, { descendants: depth !== 0 })).length > 0;
    } catch (e) {
      if (!isLockStoreUnavailable(e)) throw e;
      locksDown = true;
    }
  }

  // allprop of a resource with no dead properties and no locks (the usual listing) takes one template.
  const plainAllprop = request.kind === 'allprop' && request.include.length === 0 && !anyLocks && !locksDown;

  // One filesystem serves the whole tree: ask for its quota once per request, not per entry.
  let quotaOnce: Promise<Quota> | undefined;
  const entry = async (p: string, i: ResourceInfo, maybeDead: boolean): Promise<string> => {
    const name = p === '/' ? '' : baseName(p);
    const dead: DeadProperty[] = wantsDead && maybeDead ? await storage.props.get(p) : [];
    let lockXml: string | undefined = locksDown ? undefined : '<D:lockdiscovery/>';
    if (anyLocks && !locksDown) {
      const now = Date.now();
      try {
        const active = (await locks.covering(p)).map((l) => activeLockXml(l, href(ctx, l.root, l.root === p ? i.isCollection : true), now, ctx.state.user ?? null));
        lockXml = lockDiscoveryXml(active);
      } catch (e) {
        // Reads keep working while a shared lock store is down; the one property we cannot
        // know is reported as such (a 503 propstat) rather than as "no locks".
        if (!isLockStoreUnavailable(e)) throw e;
        lockXml = undefined;
      }
    }
    let quota: Quota | undefined;
    // RFC 4331 defines quota for collections; a file has none (a 404 propstat when asked).
    if (wantsQuota && i.isCollection && storage.quota) quota = await (quotaOnce ??= storage.quota(p));
    let sums: string | undefined;
    if (wantsChecksums && !i.isCollection) {
      const d = await services.checksums.digests(p, i).catch(() => null);
      if (d) sums = checksumsPropXml(d);
    }
    const live = (local: string): string | undefined => {
      if (local === 'lockdiscovery') return lockXml;
      if (local === 'quota-available-bytes') return quota && `<D:quota-available-bytes>${quota.availableBytes}</D:quota-available-bytes>`;
      if (local === 'quota-used-bytes') return quota && `<D:quota-used-bytes>${quota.usedBytes}</D:quota-used-bytes>`;
      return simpleLiveProp(local, i, name);
    };
    const found: string[] = [];
    const missing: string[] = [];
    const unavailable: string[] = [];
    const unknownLocks = (ns: string, local: string): boolean => lockXml === undefined && ns === DAV_NS && local === 'lockdiscovery';
    if (request.kind === 'propname') {
      for (const local of ALLPROP_LIVE) if (live(local) !== undefined && !dead.some((d) => d.ns === DAV_NS && d.local === local)) found.push(`<D:${local}/>`);
      for (const d of dead) found.push(propTag(d.ns, d.local).empty);
    } else if (request.kind === 'allprop') {
      for (const local of ALLPROP_LIVE) {
        if (dead.some((d) => d.ns === DAV_NS && d.local === local)) continue;
        const v = live(local);
        if (v !== undefined) found.push(v);
        else if (unknownLocks(DAV_NS, local)) unavailable.push('<D:lockdiscovery/>');
      }
      for (const d of dead) found.push(deadXml(d));
      for (const n of request.include) {
        if ((n.ns === DAV_NS && NAMED_ONLY_LIVE.includes(n.local as never)) || isChecksums(n)) {
          const v = isChecksums(n) ? sums : live(n.local);
          (v ? found : missing).push(v ?? propTag(n.ns, n.local).empty);
        }
      }
    } else {
      for (const n of request.names) {
        const d = dead.find((x) => x.ns === n.ns && x.local === n.local);
        const v = isChecksums(n) ? sums : d ? deadXml(d) : n.ns === DAV_NS ? live(n.local) : undefined;
        if (v !== undefined) found.push(v);
        else (unknownLocks(n.ns, n.local) ? unavailable : missing).push(propTag(n.ns, n.local).empty);
      }
    }
    const propstats: Propstat[] = [
      { status: 200, props: found },
      { status: 404, props: missing },
      { status: 503, props: unavailable },
    ];
    return propstatResponse(href(ctx, p, i.isCollection), propstats);
  };

  /** A collection deleted or moved since it was stat'ed (its listing, or the rest of it, is gone). */
  const vanished = (e: unknown): boolean => (e instanceof DavError && (e.status === 404 || e.status === 409)) || isStorageError(e, 'not-found', 'parent-missing', 'not-collection');

  /** A listing's first step: taken for the Request-URI before the 207 starts, so its failure is the answer's status. */
  type Opened = { listing: AsyncIterator<ListEntry>; first: IteratorResult<ListEntry> | null };
  const open = async (dir: string): Promise<Opened> => {
    const listing = storage.list(dir)[Symbol.asyncIterator]();
    try {
      return { listing, first: await listing.next() };
    } catch (e) {
      // A collection deleted or moved since it was stat'ed lists as empty.
      if (vanished(e)) return { listing, first: null };
      throw e;
    }
  };

  /**
   * `seen` holds the collections on the way down: a collection met again (a symlink to an
   * ancestor) is listed but not entered, and no walk goes deeper than MAX_TREE_DEPTH.
   */
  async function* members(dir: string, recurse: boolean, seen: ReadonlySet<string>, level: number, opened?: Opened): AsyncGenerator<string> {
    const withProps = wantsDead ? await storage.props.membersWithProps(dir) : new Set<string>();
    let listing: AsyncIterator<ListEntry> | undefined;
    let done = false;
    try {
      // Inside the 207 (a member of a Depth infinity walk) a collection we may not list (EACCES,
      // a link out of the tree) is listed without its members and the refusal logged, as `ls -R`
      // does; a Depth 1 PROPFIND of it answers 403.
      let next: IteratorResult<ListEntry> | null;
      try {
        ({ listing, first: next } = opened ?? (await open(dir)));
      } catch (e) {
        if (!isStorageError(e, 'forbidden')) throw e;
        ctx.app.emit('error', e, ctx);
        next = null;
      }
      for (;;) {
        if (!next || next.done) {
          done = true;
          return;
        }
        const m = next.value;
        if (!(hideJunk && isOsJunk(m.name))) {
          const p = joinPath(dir, m.name);
          yield plainAllprop && !withProps.has(m.name) ? allpropResponse(href(ctx, p, m.info.isCollection), m.info, m.name) : await entry(p, m.info, withProps.has(m.name));
          if (recurse && m.info.isCollection && level < MAX_TREE_DEPTH && !(m.info.id && seen.has(m.info.id))) {
            yield* members(p, true, m.info.id ? new Set([...seen, m.info.id]) : seen, level + 1);
          }
        }
        try {
          next = await listing!.next();
        } catch (e) {
          done = true;
          // Deleted or moved since it was stat'ed: the rest of it is gone. A failure half way
          // through a listing (EIO) is not hidden in a 207 that looks whole: it cuts the response.
          if (vanished(e)) return;
          throw e;
        }
      }
    } finally {
      // Left early (the client went away): the listing is closed.
      if (!done) await listing?.return?.();
    }
  }

  const top = depth !== 0 && info.isCollection ? await open(path) : undefined;
  let started = false;
  // A response that ends before its body was ever asked for (the client went away) still closes the listing.
  if (top) ctx.res.once('close', () => void (started || top.listing.return?.()));

  async function* body(): AsyncGenerator<string> {
    started = true;
    let buf = MULTISTATUS_OPEN + (await entry(path, info!, true));
    if (top) {
      for await (const s of members(path, depth === 'infinity', new Set(info!.id ? [info!.id] : []), 1, top)) {
        buf += s;
        if (buf.length >= CHUNK) {
          yield buf;
          buf = '';
        }
      }
    }
    yield buf + MULTISTATUS_CLOSE;
  }

  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = Readable.from(body(), { objectMode: false });
  // A listing (Depth 1 or infinity) goes compressed when the client takes it; one response does not need to.
  if (depth !== 0) await compressBody(ctx);
}

/** A dead property as stored, wrapped in its element with xml:lang and attributes restored. */
export function deadXml(d: DeadProperty): string {
  const attrs = (d.lang !== undefined ? ` xml:lang="${d.lang.replace(/[&<"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '"': '&quot;' })[c]!)}"` : '') + (d.attrs ?? '');
  const t = propTag(d.ns, d.local, attrs);
  return d.xml === '' ? t.empty : t.open + d.xml + t.close;
}
