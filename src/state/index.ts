/**
 * Picks the small-state store by the lock store's rule: Redis when `--lock-store redis://...`
 * (every instance shares it), otherwise files under `<metaDir>/state`.
 */
import { join } from 'node:path';
import type { ServerOptions } from '../config.js';
import { isRedisUrl } from '../config.js';
import { FileStateStore } from './file.js';
import type { StateStore } from './store.js';

export type { StateStore, StateEntry, SetOptions, IncrOptions } from './store.js';
export { StateStoreUnavailable } from './store.js';

export async function createStateStore(options: Pick<ServerOptions, 'lockStore'>, metaDir: string): Promise<StateStore> {
  if (isRedisUrl(options.lockStore)) {
    const { RedisStateStore } = await import('./redis.js');
    return RedisStateStore.open({ url: options.lockStore });
  }
  return new FileStateStore(join(metaDir, 'state'));
}
