/** lockdiscovery / activelock XML (RFC 4918 14.1, 15.8). */
import type { LockInfo } from '../locks/manager.js';
import { escapeText } from './write.js';

/**
 * One activelock. The lock token is shown only to the lock's principal (or to everyone when
 * the lock has none: no authentication): another user cannot use it, and a token is what
 * proves ownership, so it is not handed out; RFC 4918 14.1 makes locktoken optional. The lock
 * itself stays visible. `viewer` undefined means "the principal" (e.g. the LOCK answer).
 */
export function activeLockXml(lock: LockInfo, rootHref: string, now: number, viewer?: string | null): string {
  const remaining = Math.max(0, Math.ceil((lock.expiresAt - now) / 1000));
  return (
    '<D:activelock>' +
    '<D:locktype><D:write/></D:locktype>' +
    `<D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === 0 ? '0' : 'infinity'}</D:depth>` +
    (lock.ownerXml ? `<D:owner>${lock.ownerXml}</D:owner>` : '') +
    `<D:timeout>Second-${remaining}</D:timeout>` +
    (viewer === undefined || lock.principal === undefined || lock.principal === viewer ? `<D:locktoken><D:href>${escapeText(lock.token)}</D:href></D:locktoken>` : '') +
    `<D:lockroot><D:href>${escapeText(rootHref)}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

export const lockDiscoveryXml = (activeLocks: string[]): string =>
  activeLocks.length ? `<D:lockdiscovery>${activeLocks.join('')}</D:lockdiscovery>` : '<D:lockdiscovery/>';
