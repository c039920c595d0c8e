/** The Redis lock store (src/locks/redis/): re-exported here, where the app and tests import it. */
export { RedisLockManager, describeRedisUrl, type RedisLockOptions } from './redis/store.js';
