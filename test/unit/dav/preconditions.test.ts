import { expect } from 'chai';
import { evaluateConditionals, ifRangeHolds, type ConditionalHeaders, type Validators } from '../../../src/dav/preconditions.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const date = (ms: number): string => new Date(ms).toUTCString();
const existing: Validators = { etag: '"abc"', lastModifiedMs: T0 };
const missing: Validators = { etag: null, lastModifiedMs: null };

describe('dav/preconditions', () => {
  describe('evaluateConditionals', () => {
    const cases: [string, ConditionalHeaders, Validators, string, 'ok' | 304 | 412][] = [
      ['no headers', {}, existing, 'GET', 'ok'],
      ['If-Match same', { ifMatch: '"abc"' }, existing, 'PUT', 'ok'],
      ['If-Match in a list', { ifMatch: '"x", "abc"' }, existing, 'PUT', 'ok'],
      ['If-Match other', { ifMatch: '"x"' }, existing, 'PUT', 412],
      ['If-Match weak never matches (strong comparison)', { ifMatch: 'W/"abc"' }, existing, 'PUT', 412],
      ['If-Match * on existing', { ifMatch: '*' }, existing, 'PUT', 'ok'],
      ['If-Match * on missing', { ifMatch: '*' }, missing, 'PUT', 412],
      ['If-Match on GET fails with 412', { ifMatch: '"x"' }, existing, 'GET', 412],
      ['If-None-Match same on GET', { ifNoneMatch: '"abc"' }, existing, 'GET', 304],
      ['If-None-Match same on HEAD', { ifNoneMatch: '"abc"' }, existing, 'HEAD', 304],
      ['If-None-Match weak matches on GET', { ifNoneMatch: 'W/"abc"' }, existing, 'GET', 304],
      ['If-None-Match same on PUT', { ifNoneMatch: '"abc"' }, existing, 'PUT', 412],
      ['If-None-Match other', { ifNoneMatch: '"x"' }, existing, 'GET', 'ok'],
      ['If-None-Match * on PUT over existing', { ifNoneMatch: '*' }, existing, 'PUT', 412],
      ['If-None-Match * on PUT of a new resource', { ifNoneMatch: '*' }, missing, 'PUT', 'ok'],
      ['If-None-Match * on GET', { ifNoneMatch: '*' }, existing, 'GET', 304],
      ['If-Modified-Since equal', { ifModifiedSince: date(T0) }, existing, 'GET', 304],
      ['If-Modified-Since later', { ifModifiedSince: date(T0 + 60_000) }, existing, 'GET', 304],
      ['If-Modified-Since earlier', { ifModifiedSince: date(T0 - 60_000) }, existing, 'GET', 'ok'],
      ['If-Modified-Since ignored on PUT', { ifModifiedSince: date(T0) }, existing, 'PUT', 'ok'],
      ['If-Modified-Since invalid date ignored', { ifModifiedSince: 'yesterday' }, existing, 'GET', 'ok'],
      ['If-Modified-Since ignored when If-None-Match present', { ifNoneMatch: '"x"', ifModifiedSince: date(T0) }, existing, 'GET', 'ok'],
      ['If-Unmodified-Since equal', { ifUnmodifiedSince: date(T0) }, existing, 'PUT', 'ok'],
      ['If-Unmodified-Since earlier', { ifUnmodifiedSince: date(T0 - 60_000) }, existing, 'PUT', 412],
      ['If-Unmodified-Since earlier on GET', { ifUnmodifiedSince: date(T0 - 60_000) }, existing, 'GET', 412],
      ['If-Unmodified-Since invalid ignored', { ifUnmodifiedSince: 'nonsense' }, existing, 'PUT', 'ok'],
      ['If-Unmodified-Since ignored when If-Match present', { ifMatch: '"abc"', ifUnmodifiedSince: date(T0 - 60_000) }, existing, 'PUT', 'ok'],
      ['If-Match passes, If-None-Match fails', { ifMatch: '"abc"', ifNoneMatch: '"abc"' }, existing, 'GET', 304],
    ];
    for (const [label, h, v, method, want] of cases) {
      it(`${label} (${method}) -> ${want}`, () => expect(evaluateConditionals(h, v, method)).to.equal(want));
    }
  });

  describe('ifRangeHolds', () => {
    const cases: [string | undefined, boolean][] = [
      [undefined, true],
      ['"abc"', true],
      ['"other"', false],
      ['W/"abc"', false],
      [date(T0), true],
      [date(T0 - 1000), false],
      [date(T0 + 1000), false],
      ['garbage', false],
    ];
    for (const [h, want] of cases) it(`${JSON.stringify(h)} -> ${want}`, () => expect(ifRangeHolds(h, existing)).to.equal(want));
    it('never holds for a missing resource with an etag', () => expect(ifRangeHolds('"abc"', missing)).to.equal(false));
  });
});
