/**
 * What an authenticated user sees: a StorageBackend over their root and a view of the one
 * LockManager, chosen per request. Handlers stay unaware of users: hrefs, Destination headers
 * and lock roots are all relative to the user's root, and nothing outside it has a URL.
 * Users with the same root share one backend.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Services } from '../context.js';
import { ConfigError } from '../config.js';
import { ContainedFsBackend } from '../storage/fs/contained.js';
import { ScopedPropertyStore } from '../storage/fs/scoped-props.js';
import { ScopedLockManager } from '../locks/scoped.js';
import type { FsBackend } from '../storage/fs/backend.js';
import type { UserRule } from './users.js';
import type { Rights } from './rules.js';
import { userRights } from './user-rights.js';

export interface UserSpace {
  services: Services;
  readOnly: boolean;
  root: string;
  /** Path rules of the users file (null: none, `readOnly` says it all). */
  rights: Rights | null;
}

export class Spaces {
  private constructor(
    private readonly byUser: Map<string, UserSpace> | null,
    private readonly everyone: UserSpace,
  ) {}

  /** Without rules every authenticated user gets the whole tree, read-write. */
  static async create(global: Services, fs: FsBackend, rules: Map<string, UserRule> | null): Promise<Spaces> {
    const everyone: UserSpace = { services: global, readOnly: false, root: '/', rights: null };
    if (!rules) return new Spaces(null, everyone);
    const realRoot = await fsp.realpath(fs.root);
    const byRoot = new Map<string, Services>();
    const byUser = new Map<string, UserSpace>();
    for (const [user, rule] of rules) {
      let services = rule.root === '/' ? global : byRoot.get(rule.root);
      if (!services) {
        const dir = join(fs.root, rule.root);
        await checkInside(fs.root, realRoot, rule.root, user);
        await fsp.mkdir(dir, { recursive: true });
        const storage = new ContainedFsBackend({
          root: dir,
          metaDir: fs.metaDir,
          props: new ScopedPropertyStore(fs.metaDir, rule.root),
        });
        await storage.init();
        const real = storage.realRootPath;
        if (real !== realRoot && !real.startsWith(realRoot + '/')) throw new ConfigError(`user ${user}: root ${rule.root} leads outside the served directory`);
        services = { ...global, storage, locks: new ScopedLockManager(global.locks, rule.root) };
        byRoot.set(rule.root, services);
      }
      const rights = userRights(user, rule);
      byUser.set(user, { services, readOnly: rights ? !rights.mayWrite : rule.readOnly, root: rule.root, rights });
    }
    return new Spaces(byUser, everyone);
  }

  of(user: string): UserSpace | undefined {
    return this.byUser ? this.byUser.get(user) : this.everyone;
  }
}

/** Before creating a user's root: the deepest part of it that exists must really be inside the served root. */
async function checkInside(root: string, realRoot: string, userRoot: string, user: string): Promise<void> {
  for (let p = userRoot; ; p = p.slice(0, p.lastIndexOf('/')) || '/') {
    let real: string;
    try {
      real = await fsp.realpath(join(root, p));
    } catch {
      if (p === '/') return;
      continue;
    }
    if (real !== realRoot && !real.startsWith(realRoot + '/')) throw new ConfigError(`user ${user}: root ${userRoot} leads outside the served directory`);
    return;
  }
}
