/** Pieces of a 207 Multi-Status body (RFC 4918 section 13), written as strings. */
import { STATUS_CODES } from 'node:http';
import { escapeText, XML_DECL } from './write.js';
import { MS_NS } from './names.js';

/**
 * Z: is declared once here because Windows stores four Win32* properties on every file it
 * writes; naming them `Z:` instead of redeclaring the namespace on each saves ~150 bytes per
 * entry of a listing (Explorer refuses listings over 1,000,000 bytes by default).
 */
export const MULTISTATUS_OPEN = `${XML_DECL}<D:multistatus xmlns:D="DAV:" xmlns:Z="${MS_NS}">`;
export const MULTISTATUS_CLOSE = '</D:multistatus>';

export const statusLine = (code: number): string => `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}`;

export interface Propstat {
  status: number;
  /** Property elements (already serialised). */
  props: string[];
  /** Optional DAV:error condition for this propstat (e.g. cannot-modify-protected-property). */
  error?: string;
  /** Optional human-readable reason (14.22 responsedescription), e.g. the cap a value exceeded. */
  description?: string;
}

export function propstatResponse(href: string, propstats: Propstat[]): string {
  let s = `<D:response><D:href>${escapeText(href)}</D:href>`;
  // 14.24: a response holds a status or at least one propstat; an empty <D:prop/> request
  // (nothing asked, nothing to report) gets one empty 200 propstat.
  if (propstats.every((ps) => ps.props.length === 0)) return s + `<D:propstat><D:prop/><D:status>${statusLine(200)}</D:status></D:propstat></D:response>`;
  for (const ps of propstats) {
    if (ps.props.length === 0) continue;
    s += `<D:propstat><D:prop>${ps.props.join('')}</D:prop><D:status>${statusLine(ps.status)}</D:status>`;
    if (ps.error) s += `<D:error><D:${ps.error}/></D:error>`;
    if (ps.description) s += `<D:responsedescription>${escapeText(ps.description)}</D:responsedescription>`;
    s += '</D:propstat>';
  }
  return s + '</D:response>';
}

export function statusResponse(href: string, status: number, error?: { condition: string; hrefs?: string[] }): string {
  let s = `<D:response><D:href>${escapeText(href)}</D:href><D:status>${statusLine(status)}</D:status>`;
  if (error) s += `<D:error><D:${error.condition}>${(error.hrefs ?? []).map((h) => `<D:href>${escapeText(h)}</D:href>`).join('')}</D:${error.condition}></D:error>`;
  return s + '</D:response>';
}
