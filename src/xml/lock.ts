/** lockdiscovery / activelock XML (RFC 4918 14.1, 15.8). */
import type { LockInfo } from '../locks/manager.js';
import { escapeText } from './write.js';

export function activeLockXml(lock: LockInfo, rootHref: string, now: number): string {
  const remaining = Math.max(0, Math.ceil((lock.expiresAt - now) / 1000));
  return (
    '<D:activelock>' +
    '<D:locktype><D:write/></D:locktype>' +
    `<D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === 0 ? '0' : 'infinity'}</D:depth>` +
    (lock.ownerXml ? `<D:owner>${lock.ownerXml}</D:owner>` : '') +
    `<D:timeout>Second-${remaining}</D:timeout>` +
    `<D:locktoken><D:href>${escapeText(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeText(rootHref)}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

export const lockDiscoveryXml = (activeLocks: string[]): string =>
  activeLocks.length ? `<D:lockdiscovery>${activeLocks.join('')}</D:lockdiscovery>` : '<D:lockdiscovery/>';
