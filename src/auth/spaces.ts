/**
 * What an authenticated user sees: a view of the storage below their root (the generic
 * ScopedStorage, confined so no symlink leads out of it), a view of the one LockManager and of
 * the one tree-event sink, chosen per request. Handlers stay unaware of users: hrefs,
 * Destination headers and lock roots are all relative to the user's root, and nothing outside
 * it has a URL. Users with the same root share one view. Shared folders (`mounts:` in the users
 * file) appear beside the home through src/storage/mounted.ts and src/locks/mounted.ts.
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
import { MountMap, MountedStorage } from '../storage/mounted.js';
import { MountedLockManager } from '../locks/mounted.js';
import type { StorageBackend } from '../storage/backend.js';

export interface UserSpace {
  services: Services;
  readOnly: boolean;
  root: string;
  /** The user's view of the tree: their root and the shared folders mounted beside it. */
  map: MountMap;
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
    const everyone: UserSpace = { services: global, readOnly: false, root: '/', map: new MountMap('/', []), rights: null };
    if (!rules) return new Spaces(null, everyone);
    const byRoot = new Map<string, Services>();
    const byUser = new Map<string, UserSpace>();
    /** The services of one folder of the tree (a root or a shared folder), made once. */
    const below = async (root: string, user: string): Promise<Services> => {
      let services = root === '/' ? global : byRoot.get(root);
      if (!services) {
        if (global.storage.isReserved(root)) throw new ConfigError(`user ${user}: root ${root} is a reserved name`);
        await createRoot(global, root, user);
        let storage: ScopedStorage;
        try {
          storage = await ScopedStorage.create(global.storage, root);
        } catch (e) {
          if (isStorageError(e, 'forbidden')) throw new ConfigError(`user ${user}: root ${root} leads outside the served directory`);
          throw e;
        }
        const scope = new Scope(root);
        services = { ...global, storage, locks: new ScopedLockManager(global.locks, root), events: new ScopedTreeEvents(global.events, scope.abs), checksums: global.checksums.below(storage, scope.abs) };
        byRoot.set(root, services);
      }
      return services;
    };
    for (const [user, rule] of rules) {
      let services = await below(rule.root, user);
      const map = new MountMap(rule.root, rule.mounts ?? []);
      if (map.mounts.length) {
        // Shared folders beside the home (src/storage/mounted.ts): one view routing to each.
        const views = new Map<string, StorageBackend>();
        for (const m of map.mounts) views.set(m.name, (await below(m.target, user)).storage);
        const storage = new MountedStorage(map, services.storage, views, global.storage);
        services = { ...global, storage, locks: new MountedLockManager(global.locks, map), events: new ScopedTreeEvents(global.events, map.abs), checksums: global.checksums.below(storage, map.abs) };
      }
      const rights = userRights(user, rule);
      byUser.set(user, { services, readOnly: rights ? !rights.mayWrite : rule.readOnly, root: rule.root, map, rights });
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
