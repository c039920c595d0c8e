/** Property-based tests of the Range parser (RFC 7233), fixed seed. */
import fc from 'fast-check';
import { expect } from 'chai';
import { parseRange } from '../../src/dav/range.js';
import { mutated, onlyDavError, params } from './fuzz-helpers.js';

const RANGE_CHARS = fc.constantFrom('b', 'y', 't', 'e', 's', '=', '-', ',', ' ', '0', '1', '9', '5', 'x', '\t', '+', '.', 'e');
const size = fc.oneof(fc.nat({ max: 10 }), fc.nat({ max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER));

describe('fuzz: Range parser', () => {
  it('returns null, unsatisfiable, or a range inside the representation for any input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: RANGE_CHARS, maxLength: 80 }), mutated(fc.constant('bytes=0-99'), RANGE_CHARS)), size, (h, n) => {
        const r = onlyDavError(() => parseRange(h, n));
        expect(r).to.not.equal(undefined, 'parseRange must not throw');
        if (r === undefined || r === null || r === 'unsatisfiable') return;
        expect(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end)).to.equal(true);
        expect(r.start).to.be.at.least(0);
        expect(r.end).to.be.at.least(r.start);
        expect(r.end).to.be.below(n);
      }),
      params,
    );
  });

  it('round-trips first-last ranges (clipped to the size) and suffix ranges', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1e9 }), fc.nat({ max: 1e9 }), fc.integer({ min: 1, max: 2e9 }), (a, len, n) => {
        const b = a + len;
        const r = parseRange(`bytes=${a}-${b}`, n);
        if (a >= n) expect(r).to.equal('unsatisfiable');
        else expect(r).to.deep.equal({ start: a, end: Math.min(b, n - 1) });
        const open = parseRange(`bytes=${a}-`, n);
        if (a >= n) expect(open).to.equal('unsatisfiable');
        else expect(open).to.deep.equal({ start: a, end: n - 1 });
        if (len > 0) expect(parseRange(`bytes=-${len}`, n)).to.deep.equal({ start: Math.max(0, n - len), end: n - 1 });
      }),
      params,
    );
  });
});
