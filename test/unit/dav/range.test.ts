import { expect } from 'chai';
import { MAX_RANGES, multipartPlan, parseRange, parseRanges } from '../../../src/dav/range.js';

describe('dav/range', () => {
  const cases: [string | undefined, number, ReturnType<typeof parseRange>][] = [
    [undefined, 10, null],
    ['', 10, null],
    ['bytes=0-0', 10, { start: 0, end: 0 }],
    ['bytes=0-4', 10, { start: 0, end: 4 }],
    ['bytes=2-', 10, { start: 2, end: 9 }],
    ['bytes=5-100', 10, { start: 5, end: 9 }],
    ['bytes=9-9', 10, { start: 9, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }],
    ['bytes=-100', 10, { start: 0, end: 9 }],
    [' BYTES = 1 - 2 ', 10, { start: 1, end: 2 }],
    ['bytes=10-', 10, 'unsatisfiable'],
    ['bytes=10-20', 10, 'unsatisfiable'],
    ['bytes=-0', 10, 'unsatisfiable'],
    ['bytes=0-', 0, null], // an empty file is sent whole (RFC 9110 14.1.1, 14.2)
    ['bytes=-5', 0, null],
    ['bytes=9999999999999999-', 10, 'unsatisfiable'],
    // RFC 7233 2.1: an oversized last-byte-pos means "to the end", a huge suffix the whole file.
    ['bytes=2-99999999999999999999', 10, { start: 2, end: 9 }],
    ['bytes=-99999999999999999999', 10, { start: 0, end: 9 }],
    ['bytes=99999999999999999999-99999999999999999999', 10, 'unsatisfiable'],
    ['bytes=5-2', 10, null],
    ['bytes=-', 10, null],
    ['bytes=0-1,3-4', 10, null],
    ['items=0-1', 10, null],
    ['bytes=a-b', 10, null],
    ['bytes 0-1', 10, null],
  ];
  for (const [header, size, want] of cases) {
    it(`${JSON.stringify(header)} of ${size} bytes -> ${JSON.stringify(want)}`, () => expect(parseRange(header, size)).to.deep.equal(want));
  }

  describe('range sets', () => {
    it('keeps separate ranges, sorted', () => expect(parseRanges('bytes=6-7, 0-1', 10)).to.deep.equal([{ start: 0, end: 1 }, { start: 6, end: 7 }]));
    it('coalesces overlapping and adjacent ranges', () => {
      expect(parseRanges('bytes=0-2,2-4,5-6', 10)).to.deep.equal([{ start: 0, end: 6 }]);
      expect(parseRange('bytes=0-3,1-2', 10)).to.deep.equal({ start: 0, end: 3 });
    });
    it('drops unsatisfiable members; 416 only when none is left', () => {
      expect(parseRanges('bytes=0-1,50-60', 10)).to.deep.equal([{ start: 0, end: 1 }]);
      expect(parseRanges('bytes=50-60,70-', 10)).to.equal('unsatisfiable');
    });
    it('one invalid member makes the whole header ignored', () => expect(parseRanges('bytes=0-1,5-2', 10)).to.equal(null));
    it(`more than ${MAX_RANGES} ranges after coalescing: ignored (200)`, () => {
      const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 2}-${i * 2}`).join(',');
      expect(parseRanges(`bytes=${many}`, 1000)).to.equal(null);
      const ok = Array.from({ length: MAX_RANGES }, (_, i) => `${i * 2}-${i * 2}`).join(',');
      expect((parseRanges(`bytes=${ok}`, 1000) as unknown[]).length).to.equal(MAX_RANGES);
    });
    it('lays out multipart/byteranges with an exact length', () => {
      const plan = multipartPlan([{ start: 0, end: 1 }, { start: 5, end: 7 }], 10, 'text/plain', 'B');
      const body = plan.heads[0] + 'ab' + plan.heads[1] + 'fgh' + plan.tail;
      expect(body).to.equal('--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\nab\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-7/10\r\n\r\nfgh\r\n--B--\r\n');
      expect(plan.length).to.equal(Buffer.byteLength(body));
      expect(plan.contentType).to.equal('multipart/byteranges; boundary=B');
    });
  });
});
