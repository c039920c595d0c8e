/**
 * The If request header, RFC 4918 section 10.4: parsing and evaluation.
 *
 *   If = ( 1*No-tag-list | 1*Tagged-list )
 *   Tagged-list = Resource-Tag 1*List ;  List = "(" 1*Condition ")"
 *   Condition = ["Not"] ( State-token | "[" entity-tag "]" )
 *
 * Lists are OR-ed, the conditions in a list AND-ed (10.4.3). Untagged lists apply to the
 * Request-URI, tagged lists to their tagged resource. Pure: the caller supplies the state of
 * each resource.
 */
import { DavError } from '../errors.js';

export interface IfCondition {
  not: boolean;
  /** State token (a Coded-URL without the angle brackets), e.g. `urn:uuid:...` or `DAV:no-lock`. */
  token?: string;
  /** Entity tag as written, including quotes and any W/ prefix. */
  etag?: string;
}

export interface IfList {
  /** Resource tag (absolute URI or path, as written), undefined for a No-tag-list. */
  resource?: string;
  conditions: IfCondition[];
}

export interface ResourceState {
  /** Current entity tag, or null when the resource does not exist. */
  etag: string | null;
  /** Tokens of every lock whose scope includes the resource (10.4.4). */
  lockTokens: ReadonlySet<string>;
}

const MAX_LISTS = 64;
const MAX_CONDITIONS = 64;

const malformed = (why: string): DavError => new DavError(400, `Malformed If header: ${why}`);

/**
 * The lock token alone (`If: urn:uuid:...` or `If: <urn:uuid:...>`), as the npm `webdav` library
 * sends it to refresh a lock; not RFC 4918 syntax, read as the one-condition list `(<token>)`.
 */
export function bareLockToken(header: string | undefined): string | undefined {
  return /^\s*<?((?:urn:uuid:|opaquelocktoken:)[^\s<>()[\]]+?)>?\s*$/i.exec(header ?? '')?.[1];
}

export function parseIfHeader(header: string): IfList[] {
  const bare = bareLockToken(header);
  if (bare !== undefined) header = `(<${bare}>)`;
  const lists: IfList[] = [];
  let i = 0;
  let tagged: boolean | undefined;
  let resource: string | undefined;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === '\r' || header[i] === '\n')) i++;
  };
  const readUntil = (close: string): string => {
    const end = header.indexOf(close, i);
    if (end === -1) throw malformed(`missing "${close}"`);
    const s = header.slice(i, end);
    i = end + 1;
    return s;
  };
  skipWs();
  if (i === n) throw malformed('empty');
  while (i < n) {
    const c = header[i];
    if (c === '<') {
      if (tagged === false) throw malformed('resource tag after untagged list');
      tagged = true;
      i++;
      resource = readUntil('>').trim();
      if (!resource) throw malformed('empty resource tag');
      skipWs();
      if (header[i] !== '(') throw malformed('resource tag without a list');
    } else if (c === '(') {
      if (tagged === undefined) tagged = false;
      i++;
      const conditions = parseConditions();
      if (lists.length >= MAX_LISTS) throw malformed('too many lists');
      lists.push({ resource: tagged ? resource : undefined, conditions });
    } else {
      throw malformed(`unexpected "${c}"`);
    }
    skipWs();
  }
  return lists;

  function parseConditions(): IfCondition[] {
    const conditions: IfCondition[] = [];
    for (;;) {
      skipWs();
      if (i >= n) throw malformed('unterminated list');
      if (header[i] === ')') {
        i++;
        if (conditions.length === 0) throw malformed('empty list');
        return conditions;
      }
      let not = false;
      if (header.slice(i, i + 3).toLowerCase() === 'not') {
        not = true;
        i += 3;
        skipWs();
      }
      const c = header[i];
      if (c === '<') {
        i++;
        const token = readUntil('>').trim();
        if (!token || /\s/.test(token)) throw malformed('bad state token');
        conditions.push({ not, token });
      } else if (c === '[') {
        i++;
        const etag = readUntil(']').trim();
        if (!/^(W\/)?"[^"]*"$/.test(etag)) throw malformed('bad entity tag');
        conditions.push({ not, etag });
      } else {
        throw malformed(`unexpected "${c ?? 'end'}" in list`);
      }
      if (conditions.length > MAX_CONDITIONS) throw malformed('too many conditions');
    }
  }
}

/** Every state token that appears anywhere in the header: the lock tokens the client submits. */
export function submittedTokens(lists: IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token !== undefined) tokens.add(c.token);
  return tokens;
}

const opaque = (etag: string): string => (etag.startsWith('W/') ? etag.slice(2) : etag);

/** Weak comparison (RFC 7232 2.3.2), which RFC 4918 10.4.4 allows. */
export const etagMatches = (a: string, b: string): boolean => opaque(a) === opaque(b);

function conditionHolds(c: IfCondition, state: ResourceState): boolean {
  let match: boolean;
  if (c.token !== undefined) match = state.lockTokens.has(c.token);
  else match = state.etag !== null && etagMatches(c.etag!, state.etag);
  return c.not ? !match : match;
}

/**
 * Evaluates the header (10.4.3): true when at least one list holds for the resource it applies
 * to. `stateOf(tag)` returns the state of the tagged resource (tag undefined: the Request-URI).
 */
export async function evaluateIf(lists: IfList[], stateOf: (tag: string | undefined) => Promise<ResourceState>): Promise<boolean> {
  const cache = new Map<string | undefined, Promise<ResourceState>>();
  for (const list of lists) {
    let p = cache.get(list.resource);
    if (!p) cache.set(list.resource, (p = stateOf(list.resource)));
    const state = await p;
    if (list.conditions.every((c) => conditionHolds(c, state))) return true;
  }
  return false;
}
