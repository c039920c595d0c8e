/**
 * What an authenticated user sees: a view of the storage below their root (the generic
 * ScopedStorage, confined so no symlink leads out of it), a view of the one LockManager and of
 * the one tree-event sink, chosen per request. Handlers stay unaware of users: hrefs,
 * Destination headers and lock roots are all relative to the user's root, and nothing outside
 * it has a URL. Users with the same root share one view.
 */
import type { Services } from '../context.js';
import { ConfigError } from '../config.js';
import { ScopedLockManager } from '../locks/scoped.js';
import { ScopedStorage, Scope } from '../storage/scoped.js';
import { ScopedTreeEvents } from '../storage/events.js';
import { isStorageError } from '../storage/errors.js';
import { joinPath } from '../dav/path.js';
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
  static async create(global: Services, rules: Map<string, UserRule> | null): Promise<Spaces> {
    const everyone: UserSpace = { services: global, readOnly: false, root: '/', rights: null };
    if (!rules) return new Spaces(null, everyone);
    const byRoot = new Map<string, Services>();
    const byUser = new Map<string, UserSpace>();
    for (const [user, rule] of rules) {
      let services = rule.root === '/' ? global : byRoot.get(rule.root);
      if (!services) {
        if (global.storage.isReserved(rule.root)) throw new ConfigError(`user ${user}: root ${rule.root} is a reserved name`);
        await createRoot(global, rule.root, user);
        let storage: ScopedStorage;
        try {
          storage = await ScopedStorage.create(global.storage, rule.root);
        } catch (e) {
          if (isStorageError(e, 'forbidden')) throw new ConfigError(`user ${user}: root ${rule.root} leads outside the served directory`);
          throw e;
        }
        const scope = new Scope(rule.root);
        services = { ...global, storage, locks: new ScopedLockManager(global.locks, rule.root), events: new ScopedTreeEvents(global.events, scope.abs) };
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

/** Creates a user's root and the collections on the way (each one confined-checked first). */
async function createRoot(global: Services, root: string, user: string): Promise<void> {
  let path = '/';
  for (const seg of root.slice(1).split('/')) {
    path = joinPath(path, seg);
    let info;
    try {
      info = await global.storage.stat(path);
    } catch (e) {
      if (isStorageError(e, 'forbidden')) throw new ConfigError(`user ${user}: root ${root} leads outside the served directory`);
      throw e;
    }
    if (info?.isCollection) continue;
    if (info) throw new ConfigError(`user ${user}: root ${root} is a file`);
    const changes = await global.storage.mkdir(path);
    await global.events.publish(changes);
  }
}
