/**
 * The tus 1.0 resumable upload protocol (https://tus.io/protocols/resumable-upload): its headers
 * and their grammar, nothing about storage. Core, creation, termination, expiration and checksum
 * are served; creation-defer-length, creation-with-upload and concatenation are not.
 */
import { DavError } from '../errors.js';
import type { Algorithm, ChecksumClaim } from '../checksums/digests.js';
import { parseChecksumClaims } from '../checksums/digests.js';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,termination,expiration,checksum';
export const TUS_CHECKSUMS = 'md5,sha1,sha256';
/** The only body type a PATCH may carry (tus core). */
export const OFFSET_STREAM = 'application/offset+octet-stream';

/** Headers every tus response carries (tus core: Tus-Resumable on every response but OPTIONS). */
export const tusHeaders = (): Record<string, string> => ({ 'Tus-Resumable': TUS_VERSION, 'Cache-Control': 'no-store' });

/** tus core: a request in another protocol version is 412 with the versions we speak. */
export function checkVersion(value: string): void {
  if (value !== TUS_VERSION) {
    throw new DavError(412, value ? `Tus-Resumable ${value} is not supported; this server speaks ${TUS_VERSION}` : 'Tus-Resumable: 1.0.0 is required', {
      headers: { 'Tus-Version': TUS_VERSION, ...tusHeaders() },
    });
  }
}

/** A non-negative whole number of bytes (Upload-Length, Upload-Offset); 400 otherwise. */
export function parseSize(value: string, name: string): number {
  if (!/^\d{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) throw new DavError(400, `${name} must be a whole number of bytes, got ${JSON.stringify(value.slice(0, 40))}`, { headers: tusHeaders() });
  return Number(value);
}

const KEY = /^[\x21-\x2b\x2d-\x7e]+$/; // printable ASCII without space and comma (tus: "MUST NOT contain spaces and commas")
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Upload-Metadata: `key base64value,key2,...` (a key may come without a value). Values are
 * decoded as UTF-8; a malformed pair or a repeated key is 400.
 */
export function parseMetadata(header: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!header.trim()) return out;
  for (const pair of header.split(',')) {
    const [key, value, extra] = pair.trim().split(' ');
    if (!key || !KEY.test(key) || extra !== undefined || (value !== undefined && !BASE64.test(value)) || out.has(key)) {
      throw new DavError(400, `Upload-Metadata: malformed pair ${JSON.stringify(pair.trim().slice(0, 80))} (use "key base64value", keys once each)`, { headers: tusHeaders() });
    }
    out.set(key, value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8'));
  }
  return out;
}

const TUS_ALGORITHMS = new Map<string, Algorithm>([
  ['md5', 'md5'],
  ['sha1', 'sha1'],
  ['sha256', 'sha256'],
]);
const DIGEST_BYTES: Record<Algorithm, number> = { md5: 16, sha1: 20, sha256: 32 };

/**
 * A checksum of bytes in tus form, `<algorithm> <base64 digest>` (Upload-Checksum, tus checksum
 * extension; oCIS sends the digest in hex, which is accepted too). An algorithm we do not compute
 * is 400, as the extension asks.
 */
export function parseTusChecksum(value: string, name: string): ChecksumClaim {
  const m = /^\s*([A-Za-z0-9-]+)\s+(\S+)\s*$/.exec(value);
  const algorithm = m && TUS_ALGORITHMS.get(m[1]!.toLowerCase());
  if (!m || !algorithm) throw new DavError(400, `${name} must be "<md5|sha1|sha256> <digest>", got ${JSON.stringify(value.slice(0, 80))}`, { headers: tusHeaders() });
  const digest = m[2]!;
  const bytes = DIGEST_BYTES[algorithm];
  if (/^[0-9a-fA-F]+$/.test(digest) && digest.length === bytes * 2) return { algorithm, hex: digest.toLowerCase() };
  const raw = BASE64.test(digest) ? Buffer.from(digest, 'base64') : Buffer.alloc(0);
  if (raw.length !== bytes) throw new DavError(400, `${name}: a ${algorithm} digest is ${bytes} bytes (base64 or hex)`, { headers: tusHeaders() });
  return { algorithm, hex: raw.toString('hex') };
}

/**
 * The whole file's checksum a client may name for the final verification: Upload-Metadata key
 * `checksum` in tus form (`sha1 <digest>`) or OC form (`SHA1:<hex>`), or an OC-Checksum header.
 */
export function parseFileChecksum(value: string, name: string): ChecksumClaim[] {
  if (!value) return [];
  if (value.includes(':')) {
    try {
      return parseChecksumClaims(value);
    } catch (e) {
      throw new DavError(400, `${name}: ${(e as Error).message}`, { headers: tusHeaders() });
    }
  }
  return [parseTusChecksum(value, name)];
}
