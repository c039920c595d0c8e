/**
 * Bytes of an XML request body -> text. XML 1.0 (4.3.3, appendix F): every processor reads
 * UTF-8 and UTF-16, told apart by the byte order mark or the first bytes of `<?xml`; otherwise
 * the declared encoding (the Content-Type charset first, RFC 7303 8.1), else UTF-8.
 */
import { TextDecoder } from 'node:util';
import { DavError } from '../errors.js';

function labelOf(contentType: string, head: string): string | undefined {
  const cs = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (cs) return cs.toLowerCase();
  return /^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head)?.[1]?.toLowerCase();
}

function decoder(label: string): TextDecoder {
  try {
    return new TextDecoder(label, { fatal: true });
  } catch {
    throw new DavError(415, `XML body in an unsupported character encoding "${label}"`);
  }
}

export function decodeXmlBody(bytes: Buffer, contentType: string): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  let label: string;
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) label = 'utf-8';
  else if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0x3c && b1 === 0x00 && bytes[2] === 0x3f && bytes[3] === 0x00)) label = 'utf-16le';
  else if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0x00 && b1 === 0x3c && bytes[2] === 0x00 && bytes[3] === 0x3f)) label = 'utf-16be';
  else {
    // ASCII-compatible bytes: a label that names UTF-16 is wrong about them (no BOM, no NULs).
    const named = labelOf(contentType, bytes.subarray(0, 200).toString('latin1')) ?? 'utf-8';
    label = named.startsWith('utf-16') || named === 'ucs-2' ? 'utf-8' : named;
  }
  try {
    return decoder(label).decode(bytes);
  } catch (e) {
    if (e instanceof DavError) throw e;
    throw new DavError(400, `Malformed XML: body is not valid ${label.toUpperCase()}`);
  }
}
