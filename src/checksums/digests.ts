/**
 * Content checksums as sync clients read and send them (ownCloud/Nextcloud conventions):
 * - PROPFIND `{http://owncloud.org/ns}checksums` holds one `<oc:checksum>` element whose text
 *   lists every checksum, `SHA1:<hex> MD5:<hex> SHA256:<hex>` (ownCloud 10 sends the same shape
 *   with ADLER32; rclone's webdav backend lower-cases it, splits on spaces and reads `sha1:`/`md5:`);
 * - GET/HEAD answer `OC-Checksum: SHA1:<hex>` (one checksum, as ownCloud and oCIS do);
 * - a PUT may carry `OC-Checksum: SHA1:<hex>` (or MD5, SHA256): the server verifies it against
 *   the bytes it received.
 */
import { createHash } from 'node:crypto';
import { DavError } from '../errors.js';
import { OC_NS } from '../xml/names.js';

export const ALGORITHMS = ['sha1', 'md5', 'sha256'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** Lower-case hex digests of one content. */
export type Digests = Record<Algorithm, string>;

/** The names clients use in OC-Checksum and oc:checksum. */
const OC_NAME: Record<Algorithm, string> = { sha1: 'SHA1', md5: 'MD5', sha256: 'SHA256' };
const BY_OC_NAME = new Map<string, Algorithm>([
  ['sha1', 'sha1'],
  ['md5', 'md5'],
  ['sha256', 'sha256'],
  ['sha-256', 'sha256'],
]);
const HEX_LENGTH: Record<Algorithm, number> = { sha1: 40, md5: 32, sha256: 64 };

/** `SHA1:<hex> MD5:<hex> SHA256:<hex>`: the text of `<oc:checksum>`. */
export function checksumList(d: Digests): string {
  return ALGORITHMS.map((a) => `${OC_NAME[a]}:${d[a]}`).join(' ');
}

/** The `OC-Checksum` response header: the SHA-1, as ownCloud and oCIS send it. */
export function checksumHeader(d: Digests): string {
  return `SHA1:${d.sha1}`;
}

/** The oc:checksums live property, ready for a multistatus (the namespace declared on it). */
export function checksumsPropXml(d: Digests): string {
  return `<oc:checksums xmlns:oc="${OC_NS}"><oc:checksum>${checksumList(d)}</oc:checksum></oc:checksums>`;
}

export interface ChecksumClaim {
  algorithm: Algorithm;
  hex: string;
}

/**
 * Parses a request's `OC-Checksum` (`TYPE:hex`, several separated by spaces). Types this server
 * does not compute (ADLER32, SHA3-256 ...) are ignored: they cannot be verified, and refusing
 * them would refuse the upload of a client that only offers those. A known type with a value
 * that is not its hex digest is a client error (400).
 */
export function parseChecksumClaims(header: string | undefined): ChecksumClaim[] {
  if (!header) return [];
  const claims: ChecksumClaim[] = [];
  for (const part of header.trim().split(/\s+/)) {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new DavError(400, `OC-Checksum must look like SHA1:<hex>, got ${JSON.stringify(part.slice(0, 80))}`);
    const algorithm = BY_OC_NAME.get(part.slice(0, colon).toLowerCase());
    if (!algorithm) continue;
    const hex = part.slice(colon + 1).toLowerCase();
    if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
      throw new DavError(400, `OC-Checksum ${OC_NAME[algorithm]} must be ${HEX_LENGTH[algorithm]} hex digits, got ${JSON.stringify(part.slice(colon + 1, colon + 81))}`);
    }
    claims.push({ algorithm, hex });
  }
  return claims;
}

/** The first claim the content does not satisfy, as a sentence; undefined when all hold. */
export function claimMismatch(claims: readonly ChecksumClaim[], d: Digests): string | undefined {
  for (const c of claims) {
    if (d[c.algorithm] !== c.hex) {
      return `The ${OC_NAME[c.algorithm]} checksum of the received body is ${d[c.algorithm]}, but the request says ${c.hex}; nothing was stored`;
    }
  }
  return undefined;
}

/** Hashes held in this thread: for small bodies already in memory (no hand-off is worth it). */
export class InlineHasher {
  private readonly hashes = ALGORITHMS.map((a) => createHash(a));
  bytes = 0;

  update(chunk: Uint8Array): void {
    for (const h of this.hashes) h.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): Digests {
    const out = {} as Digests;
    ALGORITHMS.forEach((a, i) => (out[a] = this.hashes[i]!.digest('hex')));
    return out;
  }
}

/** Digests of bytes in memory. */
export function digestsOf(...chunks: Uint8Array[]): Digests {
  const h = new InlineHasher();
  for (const c of chunks) h.update(c);
  return h.digest();
}

export const isDigests = (v: unknown): v is Digests =>
  typeof v === 'object' && v !== null && ALGORITHMS.every((a) => typeof (v as Record<string, unknown>)[a] === 'string' && (v as Record<string, string>)[a]!.length === HEX_LENGTH[a]);
