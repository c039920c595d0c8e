/**
 * Upload sessions and their write leases, in the shared small-state store (src/state/): a file
 * per key by default, Redis with a Redis lock store, so every worker and instance sees the same
 * uploads. The bytes themselves live in the storage backend's staging area; a session says whose
 * upload it is, where it goes and how it must be committed.
 *
 * One request at a time writes to an upload: it holds a lease (`uploads:lease:<id>`, renewed
 * while it runs, gone 15 s after a crash). A client that lost its connection comes back before
 * the server noticed the old request was dead; so a HEAD, PATCH or DELETE that finds the lease
 * taken asks its holder to let go (`uploads:release:<id>`), and the holder, which looks every
 * second, stops reading its body: the bytes it already wrote stay, and the new request carries
 * on from there.
 */
import { randomBytes } from 'node:crypto';
import type { StateStore } from '../state/store.js';
import type { ChecksumClaim, Digests } from '../checksums/digests.js';
import { DavError } from '../errors.js';
import { tusHeaders } from './tus.js';

export interface UploadSession {
  /** Who created the upload (null without authentication): only they may see or continue it. */
  user: string | null;
  /** Target: a DAV path of that user's view. */
  path: string;
  length: number;
  /** Upload-Metadata as the client sent it (HEAD gives it back). */
  metadata: string;
  /** If header for the commit (Upload-Metadata `if`, or the creating request's If). */
  ifHeader?: string;
  /** Modification time the stored file gets (Upload-Metadata `mtime`, or X-OC-Mtime). */
  mtimeMs?: number;
  /** Whole-file checksums the client asked to be verified. */
  claims: ChecksumClaim[];
  created: number;
  /**
   * Set when the last byte arrived but the commit was refused (412, 423, 409 ...): the digests
   * of the whole content and its last byte, which was cut off again, so that a client resuming
   * sends it once more and that PATCH commits (a HEAD must not report a complete upload that
   * is stored nowhere: tus clients take that for success).
   */
  held?: { digests: Digests; lastByte: number };
  /** Set once committed: the answer, kept for an hour for a client whose last response was lost. */
  done?: { status: number; etag: string };
}

const SESSION = (id: string): string => `uploads:session:${id}`;
const LEASE = (id: string): string => `uploads:lease:${id}`;
const RELEASE = (id: string): string => `uploads:release:${id}`;

const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
const POLL_MS = 1_000;
/** How long a request waits for another one on the same upload to let go. */
const TAKEOVER_MS = 3_000;
export const DONE_KEEP_MS = 3_600_000;

export const newUploadId = (): string => randomBytes(16).toString('hex');

export class UploadSessions {
  constructor(private readonly state: StateStore) {}

  get(id: string): Promise<UploadSession | undefined> {
    return this.state.get<UploadSession>(SESSION(id));
  }

  async put(id: string, s: UploadSession): Promise<void> {
    await this.state.set(SESSION(id), s, s.done ? { ttlMs: DONE_KEEP_MS } : {});
  }

  async delete(id: string): Promise<void> {
    await this.state.delete(SESSION(id));
  }

  /** Ids of every upload (the expiry sweep). */
  async ids(): Promise<string[]> {
    return (await this.state.list(SESSION(''))).map((e) => e.key.slice(SESSION('').length));
  }

  /** Every upload not yet committed, with its session. */
  async unfinished(): Promise<{ id: string; session: UploadSession }[]> {
    const all = await this.state.list<UploadSession>(SESSION(''));
    return all.filter((e) => !e.value.done).map((e) => ({ id: e.key.slice(SESSION('').length), session: e.value }));
  }

  /** True when some request holds the upload's lease. */
  async busy(id: string): Promise<boolean> {
    return (await this.state.get(LEASE(id))) !== undefined;
  }

  /**
   * Takes the upload's write lease, asking a holder to let go and waiting up to TAKEOVER_MS;
   * 423 when it does not. `onRelease` runs when another request asks this one to let go.
   */
  async acquire(id: string, onRelease: () => void): Promise<Lease> {
    const token = randomBytes(8).toString('hex');
    const until = Date.now() + TAKEOVER_MS;
    let asked = false;
    for (let wait = 50; ; wait = Math.min(wait * 2, 250)) {
      if (await this.state.add(LEASE(id), token, { ttlMs: LEASE_MS })) {
        // Our own request to let go must not make the next holder let go.
        if (asked) await this.state.delete(RELEASE(id));
        return new Lease(this.state, id, token, onRelease);
      }
      if (!asked) {
        await this.state.set(RELEASE(id), token, { ttlMs: TAKEOVER_MS + POLL_MS * 2 });
        asked = true;
      }
      if (Date.now() > until) throw new DavError(423, 'Another request is still writing to this upload; try again', { headers: { 'Retry-After': '1', ...tusHeaders() } });
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Asks whoever holds the lease to let go and waits until it did (or TAKEOVER_MS passed). */
  async quiesce(id: string): Promise<void> {
    if (!(await this.busy(id))) return;
    await this.state.set(RELEASE(id), 'quiesce', { ttlMs: TAKEOVER_MS + POLL_MS * 2 });
    const until = Date.now() + TAKEOVER_MS;
    while (Date.now() < until && (await this.busy(id))) await new Promise((r) => setTimeout(r, 100));
    if (!(await this.busy(id))) await this.state.delete(RELEASE(id));
  }
}

export class Lease {
  private readonly timer: NodeJS.Timeout;
  private ticks = 0;
  private released = false;

  constructor(
    private readonly state: StateStore,
    private readonly id: string,
    private readonly token: string,
    onRelease: () => void,
  ) {
    this.timer = setInterval(() => {
      void (async () => {
        const ask = await this.state.get<string>(RELEASE(this.id));
        if (ask !== undefined && ask !== this.token && !this.released) {
          await this.state.delete(RELEASE(this.id));
          onRelease();
        }
        if (++this.ticks % (RENEW_MS / POLL_MS) === 0 && !this.released) await this.state.set(LEASE(this.id), this.token, { ttlMs: LEASE_MS });
      })().catch(() => undefined);
    }, POLL_MS);
    this.timer.unref();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    if ((await this.state.get(LEASE(this.id)).catch(() => undefined)) === this.token) await this.state.delete(LEASE(this.id)).catch(() => undefined);
  }
}
