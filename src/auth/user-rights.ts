/**
 * A user's rights as the request goes on with them: the rules of the users file (src/auth/rules.ts)
 * merged in their documented order, the limits of the credential (an app password's scope and
 * read-only flag), and the request's services swapped for the filtered view.
 */
import type { Services, DavState } from '../context.js';
import type { UserRule } from './users.js';
import { allRights, readRights, Rights, treeRule, type Limit } from './rules.js';
import { rightsChecksums, rightsView } from './rights-view.js';
import { checkSegment } from '../dav/path.js';

/** The rules in force for a user, or null when the users file gives them none (plain access). */
export function userRights(name: string, rule: Pick<UserRule, 'readOnly' | 'rules' | 'mounts'>, file = 'users file'): Rights | null {
  const mounts = (rule.mounts ?? []).filter((m) => m.readOnly !== undefined && m.readOnly !== rule.readOnly);
  if (!rule.rules?.length && !mounts.length) return null;
  const access = (ro: boolean): string => (ro ? 'read-only' : 'read-write');
  const base = treeRule('/', rule.readOnly ? readRights() : allRights(), `${file} users.${name}.access (${access(rule.readOnly)})`);
  const shared = mounts.map((m) => treeRule('/' + m.name, m.readOnly ? readRights() : allRights(), `${file} users.${name}.mounts.${m.name} (${access(m.readOnly!)})`));
  return new Rights([base, ...shared, ...(rule.rules ?? [])]);
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
  state.services = { ...services, storage: rightsView(services.storage, rights), checksums: rightsChecksums(services.checksums, rights) };
}

/** A path typed by a person (CLI, form): absolute, clean, no `.`/`..`; 400 otherwise. */
export function cleanPath(text: string): string {
  const segs = text.split('/').filter((s) => s !== '');
  for (const s of segs) checkSegment(s);
  return segs.length ? '/' + segs.join('/') : '/';
}

