/**
 * The users file (`--users FILE`, JSON or YAML): which part of the served directory each user
 * sees and whether they may change it.
 *
 *   users:
 *     alice: { root: /alice, access: read-write }
 *     bob:   { root: /shared, access: read-only }
 *
 * `root` is a path below the served directory (created at start-up if missing); `access` is
 * `read-write` (`rw`) or `read-only` (`ro`, the default). A user in the htpasswd file but not
 * here is refused (403).
 */
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { ConfigError } from '../config.js';
import { checkSegment } from '../dav/path.js';
import { parseRules, type Rule } from './rules.js';
import { isReservedTopName } from '../storage/reserved.js';

/** The YAML parser, loaded when a users file is read. */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

export interface UserRule {
  /** DAV path below the served root, '/' or '/a/b'. */
  root: string;
  readOnly: boolean;
  /** Path rules that apply to this user: the file's global `rules`, then the user's own (src/auth/rules.ts). */
  rules?: Rule[];
  /** Shared folders mounted beside the home (src/storage/mounted.ts), with their own access when given. */
  mounts?: UserMount[];
}

export interface UserMount {
  /** Top-level name in the user's view. */
  name: string;
  /** The shared folder: a DAV path from the served root. */
  target: string;
  /** Its access when it differs from the user's (undefined: the user's). */
  readOnly?: boolean;
}

/** `mounts: { team: /teams/eng, handbook: { path: /teams/handbook, access: ro } }` */
function parseMounts(value: unknown, user: string): UserMount[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`user ${user}: mounts must map a name to a folder, e.g. { team: /teams/eng }`);
  return Object.entries(value as Record<string, unknown>).map(([name, v]) => {
    try {
      checkSegment(name);
    } catch {
      throw new Error(`user ${user}: mount name ${name} must be one plain folder name`);
    }
    if (name === '' || isReservedTopName(name)) throw new Error(`user ${user}: mount name ${name} is reserved`);
    const o = typeof v === 'string' ? { path: v } : (v as Record<string, unknown> | null);
    if (!o || typeof o !== 'object') throw new Error(`user ${user}: mount ${name} needs a path`);
    for (const k of Object.keys(o)) if (k !== 'path' && k !== 'access') throw new Error(`user ${user}: mount ${name}: unknown key ${k}`);
    const target = normaliseRoot(o.path, `${user} (mount ${name})`);
    return { name, target, ...(o.access === undefined ? {} : { readOnly: parseAccess(o.access, `${user} (mount ${name})`) }) };
  });
}

function normaliseRoot(value: unknown, user: string): string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw new Error(`user ${user}: root must be an absolute path such as /${user}`);
  const segs = value.split('/').filter((s) => s !== '');
  for (const s of segs) {
    try {
      checkSegment(s);
    } catch {
      throw new Error(`user ${user}: root ${value} may not contain ".", ".." or backslashes`);
    }
  }
  return segs.length ? '/' + segs.join('/') : '/';
}

function parseAccess(value: unknown, user: string): boolean {
  if (value === undefined) return true;
  const v = String(value).toLowerCase();
  if (v === 'ro' || v === 'read-only' || v === 'readonly') return true;
  if (v === 'rw' || v === 'read-write' || v === 'readwrite') return false;
  throw new Error(`user ${user}: access must be read-only or read-write, not ${String(value)}`);
}

export function parseUsers(text: string, file = 'users file'): Map<string, UserRule> {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text); // YAML is a superset of JSON
  } catch (e) {
    throw new ConfigError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML/JSON'}: ${(e as Error).message.split('\n')[0]}`);
  }
  const users = (doc as { users?: unknown } | null)?.users;
  if (!users || typeof users !== 'object' || Array.isArray(users)) throw new ConfigError(`${file}: expected a "users" map of name -> { root, access }`);
  const out = new Map<string, UserRule>();
  const where = basename(file);
  let global: Rule[];
  try {
    global = parseRules((doc as { rules?: unknown }).rules, `${where} rules`);
  } catch (e) {
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  for (const [name, rule] of Object.entries(users as Record<string, unknown>)) {
    try {
      if (!rule || typeof rule !== 'object') throw new Error(`user ${name}: expected { root, access }`);
      const r = rule as Record<string, unknown>;
      for (const k of Object.keys(r)) if (!['root', 'access', 'rules', 'mounts'].includes(k)) throw new Error(`user ${name}: unknown key ${k}`);
      const own = parseRules(r.rules, `${where} users.${name}.rules`);
      const mounts = parseMounts(r.mounts, name);
      out.set(name, {
        root: normaliseRoot(r.root, name),
        readOnly: parseAccess(r.access, name),
        ...(global.length || own.length ? { rules: [...global, ...own] } : {}),
        ...(mounts.length ? { mounts } : {}),
      });
    } catch (e) {
      throw new ConfigError(`${file}: ${(e as Error).message}`);
    }
  }
  return out;
}

export async function loadUsers(file: string): Promise<Map<string, UserRule>> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read users file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseUsers(text, file);
}
