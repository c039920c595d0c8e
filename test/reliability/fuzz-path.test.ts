/** Property-based tests of the Request-URI resolver: containment and href round-trips, fixed seed. */
import fc from 'fast-check';
import { expect } from 'chai';
import { decodeRequestPath, hrefFor } from '../../src/dav/path.js';
import { mutated, onlyDavError, params } from './fuzz-helpers.js';

const PATH_CHARS = fc.constantFrom('/', '.', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'C', '0', 'a', '\\', '\0', ' ', '#', '?', 'é', '\u00e9', '\ud83d\ude00', '+', '~');
const segment = fc
  .string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '0', ' ', '%', '#', '?', '&', ';', '=', '+', '~', 'é', '日', '\ud83d\ude00', '.', '-', ':', '@', '"', "'", '<')), minLength: 1, maxLength: 12 })
  .filter((s) => s !== '.' && s !== '..');
const prefix = fc.constantFrom('', '/dav', '/a/b');

function expectClean(p: string): void {
  expect(p.startsWith('/')).to.equal(true);
  if (p === '/') return;
  expect(p.endsWith('/')).to.equal(false);
  for (const seg of p.slice(1).split('/')) {
    expect(seg).to.not.equal('');
    expect(seg).to.not.equal('.');
    expect(seg).to.not.equal('..');
    expect(seg.includes('\\')).to.equal(false);
    expect(seg.includes('\0')).to.equal(false);
  }
}

describe('fuzz: path resolver', () => {
  it('turns any raw path into a clean, contained DAV path, null, or a 400 DavError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: PATH_CHARS, maxLength: 120 }).map((s) => '/' + s), fc.string({ maxLength: 120 }), mutated(fc.constant('/a/%2e%2e/b/../c%2F'), PATH_CHARS)), prefix, (raw, pre) => {
        const p = onlyDavError(() => decodeRequestPath(raw, pre), 400);
        if (typeof p === 'string') expectClean(p);
      }),
      params,
    );
  });

  it('round-trips hrefFor -> decodeRequestPath for any segments and prefix', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), prefix, fc.boolean(), (segs, pre, coll) => {
        const path = segs.length ? '/' + segs.join('/') : '/';
        const href = hrefFor(pre, path, coll);
        expect(/^[\x21-\x7e]*$/.test(href), `href is printable ASCII: ${href}`).to.equal(true);
        expect(decodeRequestPath(href, pre)).to.equal(path);
      }),
      params,
    );
  });

  it('never lets an encoded dot-dot or separator through', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('..', '%2e%2e', '%2E.', '.%2e', 'a%2fb', 'a%5cb', '%00', 'x'), { minLength: 1, maxLength: 6 }), (segs) => {
        const raw = '/' + segs.join('/');
        const p = onlyDavError(() => decodeRequestPath(raw), 400);
        if (p === undefined) expect(segs.some((s) => s !== 'x')).to.equal(true);
        else expect(p).to.equal('/' + segs.join('/'));
      }),
      params,
    );
  });
});
