import { expect } from 'chai';
import { parseRange } from '../../../src/dav/range.js';

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
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-5', 0, 'unsatisfiable'],
    ['bytes=9999999999999999-', 10, 'unsatisfiable'],
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
});
