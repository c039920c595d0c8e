import { expect } from 'chai';
import { decodeRequestPath, hrefFor, encodeSegment, parentPath, baseName, joinPath, isSelfOrDescendant } from '../../../src/dav/path.js';

import { status } from '../helpers.js';

/** Node hands the request line over as latin1: this is what a raw UTF-8 path looks like. */
const asLatin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

describe('dav/path', () => {
  describe('decodeRequestPath', () => {
    const ok: [string, string][] = [
      ['/', '/'],
      ['/a', '/a'],
      ['/a/', '/a'],
      ['//a//b//', '/a/b'],
      ['/a%20b/c', '/a b/c'],
      ['/%E6%97%A5%E6%9C%AC', '/日本'],
      ['/caf%C3%A9', '/café'],
      ['/a#b', '/a#b'],
      ['/coll/#frag', '/coll/#frag'],
      ['/a%23b', '/a#b'],
      ['/a%3Fb', '/a?b'],
      ['/.hidden', '/.hidden'],
      ['/...', '/...'],
      ['/a..b', '/a..b'],
      ['/%25', '/%'],
      ['/a+b', '/a+b'],
    ];
    for (const [raw, want] of ok) {
      it(`${JSON.stringify(raw)} -> ${want}`, () => expect(decodeRequestPath(raw)).to.equal(want));
    }

    it('decodes raw UTF-8 bytes (delivered as latin1) as UTF-8', () => {
      expect(decodeRequestPath(asLatin1('/日本/ü'))).to.equal('/日本/ü');
    });

    const bad: [string, string][] = [
      ['/..', 'dot-dot'],
      ['/a/../b', 'dot-dot in the middle'],
      ['/a/..', 'trailing dot-dot'],
      ['/a/./b', 'dot segment'],
      ['/%2e%2e', 'encoded dot-dot'],
      ['/%2E%2E/etc/passwd', 'encoded dot-dot upper case'],
      ['/a/%2e%2e/%2e%2e/x', 'encoded dot-dots'],
      ['/.%2e', 'half-encoded dot-dot'],
      ['/a%2fb', 'encoded slash'],
      ['/a%2F..%2Fb', 'encoded slash with dot-dot'],
      ['/a%5cb', 'encoded backslash'],
      ['/a\\b', 'raw backslash'],
      ['/a%00b', 'encoded NUL'],
      ['/a\0b', 'raw NUL'],
      ['/a%zz', 'bad percent-encoding'],
      ['/a%', 'truncated percent-encoding'],
      ['/a%e6%97', 'truncated UTF-8 sequence'],
      ['/%ff', 'invalid UTF-8'],
      ['a/b', 'relative path'],
    ];
    for (const [raw, label] of bad) {
      it(`400 for ${label} (${JSON.stringify(raw)})`, () => expect(status(() => decodeRequestPath(raw))).to.equal(400));
    }

    describe('with a prefix', () => {
      const cases: [string, string | null][] = [
        ['/dav', '/'],
        ['/dav/', '/'],
        ['/dav/a/b', '/a/b'],
        ['/dav/a%20b', '/a b'],
        ['/davx', null],
        ['/davx/a', null],
        ['/', null],
        ['/other/dav/a', null],
        ['/Dav/a', null],
      ];
      for (const [raw, want] of cases) {
        it(`${raw} -> ${want}`, () => expect(decodeRequestPath(raw, '/dav')).to.equal(want));
      }
      it('still rejects traversal below the prefix', () => {
        expect(status(() => decodeRequestPath('/dav/..', '/dav'))).to.equal(400);
        expect(status(() => decodeRequestPath('/dav/%2e%2e/x', '/dav'))).to.equal(400);
      });
    });
  });

  describe('hrefFor', () => {
    const cases: [string, string, boolean, string][] = [
      ['', '/', true, '/'],
      ['/dav', '/', true, '/dav/'],
      ['', '/a', false, '/a'],
      ['', '/a', true, '/a/'],
      ['/dav', '/a/b', false, '/dav/a/b'],
      ['', '/a b', false, '/a%20b'],
      ['', '/a#b?c', false, '/a%23b%3Fc'],
      ['', '/100%', false, '/100%25'],
      ['', '/café/日本', true, '/caf%C3%A9/%E6%97%A5%E6%9C%AC/'],
      ['', "/keep-._~!$&'()*+,;=:@", false, "/keep-._~!$&'()*+,;=:@"],
      ['', '/"<>\\^`{|}', false, '/%22%3C%3E%5C%5E%60%7B%7C%7D'],
    ];
    for (const [prefix, path, coll, want] of cases) {
      it(`${prefix}${path}${coll ? ' (collection)' : ''} -> ${want}`, () => expect(hrefFor(prefix, path, coll)).to.equal(want));
    }

    it('round-trips through decodeRequestPath for awkward names', () => {
      for (const p of ['/a b', '/x#y', '/q?r', '/%41', '/日本/é', '/emoji😀', "/it's", '/semi;colon', '/a+b', '/tab\tname']) {
        expect(decodeRequestPath(hrefFor('/dav', p, false), '/dav')).to.equal(p);
        expect(decodeRequestPath(hrefFor('', p, true))).to.equal(p);
      }
    });

    it('encodeSegment leaves unreserved characters alone', () => {
      expect(encodeSegment('Ab9-._~')).to.equal('Ab9-._~');
      expect(encodeSegment('/')).to.equal('%2F');
    });
  });

  describe('path helpers', () => {
    it('parentPath, baseName, joinPath', () => {
      expect(parentPath('/')).to.equal('/');
      expect(parentPath('/a')).to.equal('/');
      expect(parentPath('/a/b/c')).to.equal('/a/b');
      expect(baseName('/a/b')).to.equal('b');
      expect(baseName('/')).to.equal('');
      expect(joinPath('/', 'x')).to.equal('/x');
      expect(joinPath('/a', 'x')).to.equal('/a/x');
    });

    it('isSelfOrDescendant does not confuse siblings sharing a prefix', () => {
      expect(isSelfOrDescendant('/a', '/a')).to.equal(true);
      expect(isSelfOrDescendant('/a/b', '/a')).to.equal(true);
      expect(isSelfOrDescendant('/ab', '/a')).to.equal(false);
      expect(isSelfOrDescendant('/a', '/a/b')).to.equal(false);
      expect(isSelfOrDescendant('/anything', '/')).to.equal(true);
    });
  });
});
