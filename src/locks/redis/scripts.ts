/**
 * The Lua scripts of the Redis lock store, kept as .lua files in `lua/` beside this module's
 * source (src/locks/redis/lua/, shipped in the npm package) and read once at start. Each script
 * is its prelude followed by its body; `sha` is what EVALSHA sends.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface Script {
  body: string;
  sha: string;
}

/**
 * Where the .lua files are: beside this file when it runs from src/ (tests under tsx), or in the
 * package's src/locks/redis/lua/ when it runs compiled from dist/locks/redis/.
 */
const CANDIDATES = [new URL('./lua/', import.meta.url), new URL('../../../src/locks/redis/lua/', import.meta.url)];

export function luaDir(): URL {
  for (const dir of CANDIDATES) {
    try {
      readFileSync(new URL('locks-prelude.lua', dir));
      return dir;
    } catch {
      // try the next place
    }
  }
  throw new Error(`the Redis lock store's Lua scripts are missing (looked in ${CANDIDATES.map((u) => fileURLToPath(u)).join(' and ')})`);
}

const dir = luaDir();
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

function script(prelude: string, name: string): Script {
  const body = prelude + '\n' + read(name);
  return { body, sha: createHash('sha1').update(body).digest('hex') };
}

const LOCKS_PRELUDE = read('locks-prelude.lua');
const LEASE_PRELUDE = read('lease-prelude.lua');

/** KEYS: locks, expiry, roots, principals. */
export const LOCK = {
  create: script(LOCKS_PRELUDE, 'lock-create.lua'),
  refresh: script(LOCKS_PRELUDE, 'lock-refresh.lua'),
  remove: script(LOCKS_PRELUDE, 'lock-remove.lua'),
  byToken: script(LOCKS_PRELUDE, 'lock-by-token.lua'),
  covering: script(LOCKS_PRELUDE, 'lock-covering.lua'),
  dropTree: script(LOCKS_PRELUDE, 'lock-drop-tree.lua'),
  sweep: script(LOCKS_PRELUDE, 'lock-sweep.lua'),
};

/** KEYS: leases, lease-expiry, lease-paths (writers), lease-read-paths (readers). */
export const LEASE = {
  acquire: script(LEASE_PRELUDE, 'lease-acquire.lua'),
  renew: script(LEASE_PRELUDE, 'lease-renew.lua'),
  release: script(LEASE_PRELUDE, 'lease-release.lua'),
};
