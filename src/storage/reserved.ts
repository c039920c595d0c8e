/**
 * The one place that says which names WebDAV never lists, stores or addresses: the metadata
 * folder at the top of the served tree (dead properties, lock store, staging area) and the temp
 * files earlier versions left beside uploads. Every backend and listing asks here; a name
 * reserved at the top of the tree is one more entry in ROOT_NAMES.
 * Names are compared case-insensitively: on a case-insensitive filesystem `/.DAVMETA` is the
 * metadata folder too, and on a case-sensitive one nobody needs those spellings.
 */
export const META_DIR = '.davmeta';
/** Upload temp files of earlier versions (beside the target); still hidden, swept at start. */
export const LEGACY_TEMP_PREFIX = '.~davtmp-';

/**
 * Names reserved at the top of the served tree only (lower case): the metadata folder and the
 * segment of the server's own endpoints (`/.dav/`, src/routes/).
 */
const ROOT_NAMES = new Set([META_DIR, '.dav']);

/** True when `name` is reserved at the top of the served tree. */
export const isReservedTopName = (name: string): boolean => ROOT_NAMES.has(name.toLowerCase());

/** True when member `name` of the collection at `dir` is reserved. */
export function isReservedName(dir: string, name: string): boolean {
  if (name.startsWith(LEGACY_TEMP_PREFIX)) return true;
  return dir === '/' && isReservedTopName(name);
}

/** True when a DAV path is reserved or lies below a reserved name. */
export function isReservedPath(path: string): boolean {
  if (path === '/') return false;
  const second = path.indexOf('/', 1);
  const top = second === -1 ? path.slice(1) : path.slice(1, second);
  if (isReservedName('/', top)) return true;
  return path.includes('/' + LEGACY_TEMP_PREFIX);
}
