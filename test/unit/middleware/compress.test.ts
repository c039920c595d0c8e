/** Choosing a content coding from Accept-Encoding (RFC 9110 12.5.3). */
import { expect } from 'chai';
import { chooseEncoding, qOf } from '../../../src/middleware/compress.js';

describe('Accept-Encoding negotiation', () => {
  const cases: [string, 'br' | 'gzip' | null][] = [
    ['', null],
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['gzip;q=1.0, br;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['BR;Q=0.8, GZIP;q=0.8', 'br'],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['gzip;q=0, br;q=0', null],
    ['identity', null],
    ['deflate, compress', null],
    ['x-gzip', null],
  ];
  for (const [header, want] of cases) it(`${JSON.stringify(header)} -> ${want}`, () => expect(chooseEncoding(header)).to.equal(want));

  it('reads q-values, with * as the default for unnamed codings', () => {
    expect(qOf('gzip;q=0.3, *;q=0.1', 'gzip')).to.equal(0.3);
    expect(qOf('gzip;q=0.3, *;q=0.1', 'br')).to.equal(0.1);
    expect(qOf('gzip', 'br')).to.equal(0);
    expect(qOf('gzip; q=junk', 'gzip')).to.equal(1);
  });
});
