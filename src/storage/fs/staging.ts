/**
 * The staging area: uploads and COPY destinations are written to `<root>/.davmeta/staging/` (the
 * same filesystem as the tree, so a rename puts them in place) and appear at their URL complete
 * or not at all. Each server process writes below a folder of its own, named for its owner
 * (`<host>-<pid>~<random>`), and touches `<owner>/.alive` every few seconds while it runs. The
 * start-up sweep removes another owner's folder only when that owner is gone: a process of this
 * host that no longer exists, or a heartbeat older than OWNER_STALE_MS (another host, or a reused
 * pid). So a second instance, a restarted server or a respawned worker never deletes an upload
 * that is still being written.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { OWNER_TAG, ownerGone } from './owner.js';

const HEARTBEAT_MS = 5_000;
/** An owner whose heartbeat is older than this is gone (twelve missed heartbeats). */
export const OWNER_STALE_MS = 60_000;
const ALIVE = '.alive';
/** The folder of partial resumable uploads (src/storage/fs/resumable.ts): no process owns it, the owner sweep skips it. */
export const RESUMABLE_DIR = 'resumable';

export interface StagingOptions {
  /** Heartbeat age after which an owner counts as gone (tests shorten it). */
  staleMs?: number;
  heartbeatMs?: number;
}

export class Staging {
  readonly dir: string;
  readonly owner: string;
  readonly ownerDir: string;
  private timer?: NodeJS.Timeout;
  private readonly staleMs: number;
  private readonly heartbeatMs: number;

  constructor(metaDir: string, opts: StagingOptions = {}) {
    this.dir = join(metaDir, 'staging');
    this.owner = `${OWNER_TAG}~${randomBytes(4).toString('hex')}`;
    this.ownerDir = join(this.dir, this.owner);
    this.staleMs = opts.staleMs ?? OWNER_STALE_MS;
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.ownerDir, { recursive: true });
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const now = new Date();
    try {
      await fsp.utimes(join(this.ownerDir, ALIVE), now, now);
    } catch {
      await fsp.mkdir(this.ownerDir, { recursive: true });
      await fsp.writeFile(join(this.ownerDir, ALIVE), '');
    }
  }

  /** A fresh name in this owner's folder. */
  newPath(): string {
    return join(this.ownerDir, randomUUID());
  }

  /** True when the owner of folder `name` no longer runs. */
  private async gone(name: string): Promise<boolean> {
    if (ownerGone(name.split('~')[0]!) === true) return true;
    let beat: number;
    try {
      beat = (await fsp.stat(join(this.dir, name, ALIVE))).mtimeMs;
    } catch {
      try {
        beat = (await fsp.stat(join(this.dir, name))).mtimeMs; // no heartbeat yet: its folder's age
      } catch {
        return false;
      }
    }
    return Date.now() - beat > this.staleMs;
  }

  /** Removes the folders of owners that are gone; returns how many files went with them. */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (name === this.owner || name === RESUMABLE_DIR || !(await this.gone(name))) continue;
      const full = join(this.dir, name);
      try {
        removed += (await fsp.readdir(full)).filter((n) => n !== ALIVE).length;
      } catch {
        // a file, not a folder: debris all the same
        removed++;
      }
      await fsp.rm(full, { recursive: true, force: true }).catch(() => undefined);
    }
    return removed;
  }

  /** Stops the heartbeat and removes this owner's folder (nothing is being written any more). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await fsp.rm(this.ownerDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
