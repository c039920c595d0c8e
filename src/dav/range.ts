/**
 * Range requests, RFC 7233: single byte ranges (206 with Content-Range) and range sets
 * (206 multipart/byteranges, section 4.1). Pure: no Koa, no fs.
 */

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Most ranges one request may ask for after coalescing; a longer set is served whole (200), as
 * section 6.1 suggests for requests with many small ranges.
 */
export const MAX_RANGES = 64;

/**
 * Parses a Range header against a representation of `size` bytes.
 * Returns the ranges to send (sorted, overlapping and adjacent ones coalesced), 'unsatisfiable'
 * (416), or null: ignore the header and send everything (absent, not bytes, syntactically
 * invalid, or more than MAX_RANGES ranges).
 */
export function parseRanges(header: string | undefined, size: number): ByteRange[] | 'unsatisfiable' | null {
  // RFC 9110 14.1.1: on an empty representation a suffix range (bytes=-N) is satisfiable, yet no
  // Content-Range can describe zero bytes; clients that always send bytes=0- (players, download
  // managers) would get 416 for an empty file. Send it whole (14.2: a server MAY ignore Range).
  if (!header || size === 0) return null;
  const m = /^\s*bytes\s*=\s*(.*)$/is.exec(header);
  if (!m) return null;
  const specs = m[1]!.split(',');
  if (specs.length > 4 * MAX_RANGES) return null;
  const ranges: ByteRange[] = [];
  let listed = 0;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === '') continue; // 7230 7: empty list elements are allowed and ignored
    listed++;
    const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
    if (!r) return null;
    const [, a, b] = r;
    if (a === '' && b === '') return null;
    if (a === '') {
      // suffix-byte-range-spec: the last N bytes; a suffix longer than the file means all of it.
      const suffix = number(b!);
      if (suffix === 0) continue;
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = number(a!);
    const end = b === '' ? Infinity : number(b!);
    if (end < start) return null; // invalid spec: ignore the header (section 3.1)
    // 2.1: a first-byte-pos at or past the end is unsatisfiable; a last-byte-pos past the end
    // (however many digits it has) means "to the end".
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (listed === 0) return null;
  if (ranges.length === 0) return 'unsatisfiable';
  const merged = coalesce(ranges);
  return merged.length > MAX_RANGES ? null : merged;
}

/**
 * The single range to send, 'unsatisfiable', or null (no range, or a set that stays several
 * ranges after coalescing).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  const r = parseRanges(header, size);
  if (r === null || r === 'unsatisfiable') return r;
  return r.length === 1 ? r[0]! : null;
}

/** Digits as a number; more than 15 digits cannot be a real offset and count as Infinity. */
const number = (digits: string): number => (digits.length > 15 ? Infinity : Number(digits));

/** Sorts and merges overlapping or adjacent ranges (4.1: a server MAY coalesce them). */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((x, y) => x.start - y.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

export interface MultipartPlan {
  boundary: string;
  /** Value of the Content-Type header of the whole response. */
  contentType: string;
  /** Total body length (known before the first byte). */
  length: number;
  /** For each range, the part's header block (delimiter included). */
  heads: string[];
  /** Closing delimiter. */
  tail: string;
}

/** Lays out a multipart/byteranges body (RFC 7233 4.1, appendix A) for `ranges` of one file. */
export function multipartPlan(ranges: ByteRange[], size: number, partType: string, boundary: string): MultipartPlan {
  const heads = ranges.map((r, i) => `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`);
  const tail = `\r\n--${boundary}--\r\n`;
  let length = Buffer.byteLength(tail);
  for (let i = 0; i < ranges.length; i++) length += Buffer.byteLength(heads[i]!) + ranges[i]!.end - ranges[i]!.start + 1;
  return { boundary, contentType: `multipart/byteranges; boundary=${boundary}`, length, heads, tail };
}
