/**
 * A user's rights as the request goes on with them: the rules of the users file (src/auth/rules.ts)
 * merged in their documented order, the limits of the credential (an app password's scope and
 * read-only flag), and the request's services swapped for the filtered view.
 */
import type { Services, DavState } from '../context.js';
import type { UserRule } from './users.js';
import { allRights, readRights, Rights, treeRule, type Limit } from './rules.js';
import { rightsView } from './rights-view.js';
import { checkSegment } from '../dav/path.js';

/** The rules in force for a user, or null when the users file gives them none (plain access). */
export function userRights(name: string, rule: Pick<UserRule, 'readOnly' | 'rules'>, file = 'users file'): Rights | null {
  if (!rule.rules?.length) return null;
  const base = treeRule('/', rule.readOnly ? readRights() : allRights(), `${file} users.${name}.access (${rule.readOnly ? 'read-only' : 'read-write'})`);
  return new Rights([base, ...rule.rules]);
}

/** Rights with the limits of the credential in use; null when there is nothing to check. */
export function withLimits(rights: Rights | null, readOnlyUser: boolean, limits: Limit[]): Rights | null {
  if (!limits.length) return rights;
  let r = rights ?? new Rights([treeRule('/', readOnlyUser ? readRights() : allRights(), 'the user\'s access')]);
  for (const l of limits) r = r.limitedBy(l);
  return r;
}

/** Puts the rights on the request: checked before dispatch, listings filtered by the storage view. */
export function applyRights(state: DavState, services: Services, rights: Rights | null): void {
  if (!rights) {
    state.services = services;
    return;
  }
  state.rights = { rights, storage: services.storage };
  state.services = { ...services, storage: rightsView(services.storage, rights) };
}

/** A path typed by a person (CLI, form): absolute, clean, no `.`/`..`; 400 otherwise. */
export function cleanPath(text: string): string {
  const segs = text.split('/').filter((s) => s !== '');
  for (const s of segs) checkSegment(s);
  return segs.length ? '/' + segs.join('/') : '/';
}

/** A path of a user's view as a DAV path from the served root. */
export function servedPath(root: string, path: string): string {
  if (root === '/') return path;
  return path === '/' ? root : root + path;
}
