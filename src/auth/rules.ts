/**
 * Path rules: what a user may do where. Six rights: `list` (see a collection's members), `read`
 * (a file's content and properties), `create` (a new file or collection), `update` (replace a
 * file, change properties), `delete`, `lock`.
 *
 * A rule is a glob in the user's own view of the tree and the exact set of rights it gives:
 * `/docs/**` (the folder and everything below it), `/inbox/*` (its direct members), `*.key` (a
 * pattern without a leading `/` matches at any depth); `*` and `?` never cross a `/`, `**` is any
 * number of whole segments. For every path the LAST matching rule decides all of its rights, in
 * this order: the user's `access` (as a rule for `/**`), each shared folder's `access`, the
 * global `rules` of the users file, then the user's own `rules`. Limits of the credential come on
 * top: an app password's scope (nothing outside it) and read-only flag (list and read at most).
 */
import { isSelfOrDescendant } from '../dav/path.js';

export const RIGHTS = ['list', 'read', 'create', 'update', 'delete', 'lock'] as const;
export type Right = (typeof RIGHTS)[number];
export type RightSet = ReadonlySet<Right>;

const ALL: RightSet = new Set(RIGHTS);
const READS: RightSet = new Set<Right>(['list', 'read']);
const NONE: RightSet = new Set<Right>();

export const allRights = (): RightSet => ALL;
export const readRights = (): RightSet => READS;

export interface Rule {
  /** The glob as written (or the exact path of a rule made by the server). */
  pattern: string;
  rights: RightSet;
  /** Where the rule comes from, for --explain: `users.yaml users.alice.rules[0]`. */
  source: string;
  matches(path: string): boolean;
  /** Literal leading segments and whether a wildcard follows (for tree checks). */
  readonly shape: { anchored: boolean; literal: string[]; wild: boolean; everything: boolean };
}

/** A restriction of the credential used (an app password): applied after the rules. */
export interface Limit {
  /** Only this sub-tree (a DAV path in the user's view). */
  scope?: string;
  readOnly?: boolean;
  /**
   * No more than these rights, at the path `map` gives (a share link: its owner's rights on the
   * shared path, so a link never opens what its owner's rules close).
   */
  ceiling?: { rights: Rights; map(path: string): string };
  source: string;
}

export interface Decision {
  rights: RightSet;
  /** The rule that decided (undefined: no rule matches, so no rights). */
  rule?: Rule;
  /** The limit that took rights away, if any. */
  limit?: Limit;
}

const escapeRe = (s: string): string => s.replace(/[.+^${}()|[\]\\]/g, '\\$&');

function segmentRe(seg: string): string {
  let out = '';
  for (const c of seg) out += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escapeRe(c);
  return out;
}

const isWild = (seg: string): boolean => /[*?]/.test(seg);

/** Compiles a glob; paths are DAV paths (`/` or `/a/b`). */
export function globRule(pattern: string, rights: RightSet, source: string): Rule {
  const anchored = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s) => s !== '');
  let re = anchored ? '^' : '^(?:/[^/]+)*';
  const literal: string[] = [];
  let wild = !anchored;
  for (const s of segs) {
    if (!wild && !isWild(s)) literal.push(s);
    else wild = true;
    re += s === '**' ? '(?:/[^/]+)*' : '/' + segmentRe(s.replace(/\*\*+/g, '*'));
  }
  const rx = new RegExp(re + '$', 'u');
  // `/P/**` (or `**`): every path at or below P.
  const everything = segs.length === literal.length + 1 && segs[segs.length - 1] === '**';
  return { pattern, rights, source, matches: (path) => rx.test(path === '/' ? '' : path), shape: { anchored, literal, wild, everything } };
}

/** A rule for one exact path (names are taken literally, glob characters included). */
export function exactRule(path: string, rights: RightSet, source: string): Rule {
  const literal = path === '/' ? [] : path.slice(1).split('/');
  return { pattern: path, rights, source, matches: (p) => p === path, shape: { anchored: true, literal, wild: false, everything: false } };
}

/** A rule for a collection and everything below it, taken literally. */
export function treeRule(path: string, rights: RightSet, source: string): Rule {
  const literal = path === '/' ? [] : path.slice(1).split('/');
  return { pattern: path === '/' ? '/**' : `${path}/**`, rights, source, matches: (p) => isSelfOrDescendant(p, path), shape: { anchored: true, literal, wild: true, everything: true } };
}

const SHORTHANDS: Record<string, RightSet> = {
  all: ALL,
  rw: ALL,
  'read-write': ALL,
  none: NONE,
  ro: READS,
  'read-only': READS,
};

/** `[list, read]`, `"list,read"`, `all`/`rw`, `ro`, `none` or `[]`. */
export function parseRights(value: unknown, where: string): RightSet {
  if (typeof value === 'string' && Object.hasOwn(SHORTHANDS, value.trim().toLowerCase())) return SHORTHANDS[value.trim().toLowerCase()]!;
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
  if (!Array.isArray(items)) throw new Error(`${where}: rights must be a list of ${RIGHTS.join('/')} (or all, ro, none)`);
  const out = new Set<Right>();
  for (const item of items) {
    const r = String(item).trim().toLowerCase();
    if (!(RIGHTS as readonly string[]).includes(r)) throw new Error(`${where}: unknown right ${JSON.stringify(item)} (use ${RIGHTS.join(', ')})`);
    out.add(r as Right);
  }
  return out;
}

function checkPattern(pattern: unknown, where: string): string {
  if (typeof pattern !== 'string' || pattern.trim() === '') throw new Error(`${where}: path must be a glob such as /docs/**`);
  if (/[\x00-\x1f\\]/.test(pattern) || pattern.split('/').some((s) => s === '.' || s === '..')) throw new Error(`${where}: path ${pattern} may not contain ".", "..", backslashes or control characters`);
  return pattern.trim();
}

/** A `rules:` list of the users file: `- { path: GLOB, rights: [...] }`. */
export function parseRules(value: unknown, where: string): Rule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list of { path, rights }`);
  return value.map((r, i) => {
    const at = `${where}[${i}]`;
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error(`${at}: expected { path, rights }`);
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'path' && k !== 'rights') throw new Error(`${at}: unknown key ${k} (a rule has path and rights)`);
    if (!('rights' in o)) throw new Error(`${at}: rights missing (use [] to take every right away)`);
    return globRule(checkPattern(o.path, at), parseRights(o.rights, at), at);
  });
}

const intersect = (a: RightSet, b: RightSet): RightSet => new Set([...a].filter((r) => b.has(r)));

export const formatRights = (r: RightSet): string => (r.size === 0 ? '(none)' : RIGHTS.filter((x) => r.has(x)).join(' '));

/** The rules of one user (and the limits of the credential in use), evaluated per path. */
export class Rights {
  constructor(
    readonly rules: readonly Rule[],
    readonly limits: readonly Limit[] = [],
  ) {}

  /** The same rules with one more limit (an app password's scope or read-only flag). */
  limitedBy(limit: Limit): Rights {
    return new Rights(this.rules, [...this.limits, limit]);
  }

  /** The rule that decides `path` and the rights that remain after the limits. */
  at(path: string): Decision {
    let rule: Rule | undefined;
    for (let i = this.rules.length - 1; i >= 0; i--) {
      if (this.rules[i]!.matches(path)) {
        rule = this.rules[i];
        break;
      }
    }
    let rights = rule?.rights ?? NONE;
    let limit: Limit | undefined;
    for (const l of this.limits) {
      if (l.scope !== undefined && !isSelfOrDescendant(path, l.scope) && rights.size) {
        rights = NONE;
        limit = l;
      }
      if (l.readOnly && [...rights].some((r) => !READS.has(r))) {
        rights = intersect(rights, READS);
        limit = l;
      }
      if (l.ceiling && rights.size) {
        const cap = l.ceiling.rights.at(l.ceiling.map(path)).rights;
        if ([...rights].some((r) => !cap.has(r))) {
          rights = intersect(rights, cap);
          limit = l;
        }
      }
    }
    return { rights, rule, limit };
  }

  has(path: string, right: Right): boolean {
    return this.at(path).rights.has(right);
  }

  /** True when `path` may be seen at all: listed, read or written. */
  any(path: string): boolean {
    return this.at(path).rights.size > 0;
  }

  /** True when some rule gives a right that changes something (else the user is read-only). */
  get mayWrite(): boolean {
    if (this.limits.some((l) => l.readOnly)) return false;
    return this.rules.some((r) => [...r.rights].some((x) => !READS.has(x)));
  }

  /**
   * True when every path strictly below `path` gets the same decision, so checking one member
   * stands for all (no need to walk the tree before a DELETE, COPY or MOVE of a collection).
   */
  uniformBelow(path: string): boolean {
    const segs = path === '/' ? [] : path.slice(1).split('/');
    for (const l of this.limits) {
      if (l.scope !== undefined && !isSelfOrDescendant(path, l.scope)) return false;
      if (l.ceiling && !l.ceiling.rights.uniformBelow(l.ceiling.map(path))) return false;
    }
    for (const r of this.rules) {
      const { anchored, literal, wild, everything } = r.shape;
      if (!anchored) {
        if (everything) continue;
        return false;
      }
      const common = Math.min(literal.length, segs.length);
      let diverges = false;
      for (let i = 0; i < common; i++) if (literal[i] !== segs[i]) diverges = true;
      if (diverges) continue;
      // Matches all of path's members: `/P/**` with P at or above path.
      if (everything && literal.length <= segs.length) continue;
      // An exact path at or above `path` cannot match below it.
      if (!wild && literal.length <= segs.length) continue;
      return false;
    }
    return true;
  }

  /** Every rule that matches `path`, in order, for --explain. */
  matching(path: string): Rule[] {
    return this.rules.filter((r) => r.matches(path));
  }
}
