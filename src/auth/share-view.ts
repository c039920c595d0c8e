/**
 * What a share link's visitor sees: a WebDAV root at the shared folder (for a shared file: its
 * folder, in which only that file can be seen), with rules that say what the link allows:
 *
 *   read-only folder   /** -> list read
 *   read-only file     / -> list;  /<name> -> read         (nothing else exists for the visitor)
 *   file drop          / -> list;  /* -> create            (listings show nothing: no member has read)
 *
 * The storage is confined to that folder like a user's root (no symlink leads out of it) and
 * the locks are a view of the one lock manager, so the owner's locks hold through the link.
 * Built per share and kept for a few seconds; the target is checked again when rebuilt.
 */
import type { Services } from '../context.js';
import { ScopedStorage, Scope } from '../storage/scoped.js';
import { ScopedTreeEvents, type TreeEventSink } from '../storage/events.js';
import { ScopedLockManager } from '../locks/scoped.js';
import type { StorageBackend } from '../storage/backend.js';
import type { LockManager } from '../locks/manager.js';
import type { ChecksumView } from '../checksums/service.js';
import { baseName, parentPath } from '../dav/path.js';
import { exactRule, globRule, readRights, Rights, treeRule, type Right } from './rules.js';
import type { ShareRecord } from './shares.js';
import { shareTarget } from './share-target.js';
import { DavError } from '../errors.js';

export interface ShareView {
  storage: StorageBackend;
  locks: LockManager;
  events: TreeEventSink;
  checksums: ChecksumView;
  rights: Rights;
}

const KEEP_MS = 5_000;
const only = (...r: Right[]): ReadonlySet<Right> => new Set(r);

/** The rules of a share (see the table above). */
export function shareRights(record: Pick<ShareRecord, 'kind' | 'mode' | 'target'>): Rights {
  const source = 'the share link';
  if (record.mode === 'drop') return new Rights([exactRule('/', only('list'), source), globRule('/*', only('create'), source)]);
  if (record.kind === 'file') return new Rights([exactRule('/', only('list'), source), exactRule('/' + baseName(record.target), readRights(), source)]);
  return new Rights([treeRule('/', readRights(), source)]);
}

export class ShareViews {
  private readonly cache = new Map<string, { until: number; target: string; view: Promise<ShareView> }>();

  constructor(
    private readonly global: Services,
    /** The served directory. */
    private readonly servedRoot: string,
  ) {}

  /** The view of a share; 404 when what it shares is gone, 403 when it now leads outside its owner's files. */
  get(record: ShareRecord): Promise<ShareView> {
    const now = Date.now();
    const hit = this.cache.get(record.id);
    if (hit && hit.until > now && hit.target === record.target) return hit.view;
    if (this.cache.size > 1000) for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
    const view = this.build(record);
    this.cache.set(record.id, { until: now + KEEP_MS, target: record.target, view });
    view.catch(() => this.cache.delete(record.id));
    return view;
  }

  private async build(record: ShareRecord): Promise<ShareView> {
    const kind = await shareTarget(this.servedRoot, record.within, record.target);
    if (kind !== record.kind) throw new DavError(404, 'The shared item is gone');
    const dir = kind === 'file' ? parentPath(record.target) : record.target;
    const storage = await ScopedStorage.create(this.global.storage, dir);
    const events = new ScopedTreeEvents(this.global.events, new Scope(dir).abs);
    const checksums = this.global.checksums.below(storage, new Scope(dir).abs);
    return { storage, locks: new ScopedLockManager(this.global.locks, dir), events, checksums, rights: shareRights(record) };
  }
}
