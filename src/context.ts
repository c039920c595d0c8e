/** Types shared by the middleware and the method handlers. */
import type { ParameterizedContext } from 'koa';
import type { ServerOptions } from './config.js';
import type { StorageBackend } from './storage/backend.js';
import type { LockManager } from './locks/manager.js';
import type { TreeEventSink } from './storage/events.js';
import type { StateStore } from './state/store.js';
import type { Rights } from './auth/rules.js';
import type { ChecksumView } from './checksums/service.js';
import type { ServerMetrics } from './admin/metrics.js';

export interface Services {
  options: ServerOptions;
  storage: StorageBackend;
  locks: LockManager;
  /** Where the write spine publishes tree changes (dead properties and locks subscribe). */
  events: TreeEventSink;
  /** Small state every process shares (defender counters; app passwords, shares, upload sessions). */
  state: StateStore;
  /** Content checksums (MD5, SHA-1, SHA-256) of this view's files: recorded on upload, computed lazily. */
  checksums: ChecksumView;
  /** Prometheus metrics, when something serves them (--admin-port, or createWebdav({ metrics: true })). */
  metrics?: ServerMetrics;
}

export interface DavState {
  /** Decoded DAV path of the Request-URI. */
  path: string;
  services: Services;
  /** Authenticated user, when authentication is on. */
  user?: string;
  /** Id of this request in logs and in the X-Request-Id response header. */
  requestId?: string;
  /** True when the authenticated user may only read (the browser page hides its write controls). */
  readOnly?: boolean;
  /** Signed in through the page's login form (src/auth/session.ts): the CSRF token its writes carry. */
  session?: { csrf: string };
  /** The Request-URI ends in '/' (below the root): it can only name a collection. */
  collectionUrl?: boolean;
  /**
   * Path rules in force (src/auth/rules.ts), checked before dispatch by src/middleware/rights.ts;
   * `storage` is the view without the listing filter. Absent: no rules, nothing to check.
   */
  rights?: { rights: Rights; storage: StorageBackend };
  /** A request to an account endpoint under `/.dav/` (app passwords, share links: not the tree). */
  endpoint?: boolean;
  /** Authenticated with an app password (src/auth/app-passwords.ts): its label. */
  appPassword?: string;
  /** Served through a share link (src/routes/shares.ts). */
  share?: { mode: 'read' | 'drop'; kind: 'file' | 'folder' };
}

export type DavContext = ParameterizedContext<DavState>;
export type Handler = (ctx: DavContext) => Promise<void>;
