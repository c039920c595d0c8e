import { expect } from 'chai';
import { parseDepth, parseOverwrite, parseTimeout, parseDestination, parseLockToken } from '../../../src/dav/headers.js';

import { status } from '../helpers.js';

describe('dav/headers', () => {
  describe('parseDepth', () => {
    const cases: [string | undefined, ReturnType<typeof parseDepth>][] = [
      [undefined, 'infinity'],
      ['', 'infinity'],
      ['0', 0],
      ['1', 1],
      ['infinity', 'infinity'],
      ['Infinity', 'infinity'],
      [' 1 ', 1],
    ];
    for (const [v, want] of cases) it(`${JSON.stringify(v)} -> ${want}`, () => expect(parseDepth(v, 'infinity')).to.equal(want));
    it('uses the fallback when absent', () => expect(parseDepth(undefined, 0)).to.equal(0));
    for (const v of ['2', '-1', 'inf', 'one', '0,1']) it(`400 for ${v}`, () => expect(status(() => parseDepth(v, 0))).to.equal(400));
    it('400 for a depth the method does not allow', () => {
      expect(status(() => parseDepth('1', 0, [0, 'infinity']))).to.equal(400);
      expect(parseDepth('0', 'infinity', [0, 'infinity'])).to.equal(0);
    });
  });

  describe('parseOverwrite', () => {
    it('T, F, absent', () => {
      expect(parseOverwrite(undefined)).to.equal(true);
      expect(parseOverwrite('T')).to.equal(true);
      expect(parseOverwrite('F')).to.equal(false);
      expect(parseOverwrite('f')).to.equal(false);
    });
    for (const v of ['yes', 'true', '', '0']) it(`400 for ${JSON.stringify(v)}`, () => expect(status(() => parseOverwrite(v))).to.equal(400));
  });

  describe('parseTimeout (default 3600, max 86400)', () => {
    const cases: [string | undefined, number][] = [
      [undefined, 3600],
      ['', 3600],
      ['Second-60', 60],
      ['second-60', 60],
      ['Second-0', 1],
      ['Second-86400', 86400],
      ['Second-86401', 86400],
      ['Second-999999999999', 86400],
      ['Infinite', 86400],
      ['infinite', 86400],
      ['Infinite, Second-4100000000', 86400],
      ['Second-120, Infinite', 120],
      ['bogus, Second-30', 30],
      ['bogus', 3600],
      ['Second-', 3600],
      ['Second--5', 3600],
      ['Second-1e5', 3600],
    ];
    for (const [v, want] of cases) it(`${JSON.stringify(v)} -> ${want}`, () => expect(parseTimeout(v, 3600, 86400)).to.equal(want));
    it('caps the fallback too', () => expect(parseTimeout(undefined, 3600, 60)).to.equal(60));
  });

  describe('parseDestination', () => {
    const ours = ['127.0.0.1:8080'];
    const cases: [string, string][] = [
      ['/a/b', '/a/b'],
      ['/a%20b?x=1', '/a%20b'],
      ['http://127.0.0.1:8080/a/b', '/a/b'],
      ['http://127.0.0.1:8080', '/'],
      ['HTTP://127.0.0.1:8080/x', '/x'],
      ['http://127.0.0.1:8080/../x', '/../x'],
      ['http://127.0.0.1:8080/%2e%2e/x', '/%2e%2e/x'],
      ['http://127.0.0.1:8080/a?q', '/a'],
      // Loopback names with the same port are this server.
      ['http://localhost:8080/a', '/a'],
      ['http://[::1]:8080/a', '/a'],
    ];
    for (const [v, want] of cases) it(`${v} -> ${want}`, () => expect(parseDestination(v, ours).rawPath).to.equal(want));

    it('matches default ports', () => {
      expect(parseDestination('http://example.com:80/a', ['example.com']).rawPath).to.equal('/a');
      expect(parseDestination('https://example.com/a', ['example.com:443']).rawPath).to.equal('/a');
      expect(parseDestination('http://EXAMPLE.com/a', ['example.com']).rawPath).to.equal('/a');
    });

    const other: string[] = [
      'http://example.com/a',
      'http://127.0.0.1:8081/a',
      'ftp://127.0.0.1:8080/a',
      'https://127.0.0.1/a',
    ];
    for (const v of other) it(`502 for ${v}`, () => expect(status(() => parseDestination(v, ours))).to.equal(502));

    it('scheme-bound origins refuse the other scheme', () => {
      expect(parseDestination('http://h:8080/a', ['http://h:8080']).rawPath).to.equal('/a');
      expect(status(() => parseDestination('https://h:8080/a', ['http://h:8080']))).to.equal(502);
      expect(parseDestination('https://h/a', ['http://h:8080', 'https://h']).rawPath).to.equal('/a');
    });

    it('keeps # as a literal character (the Request-URI shares this parser; Destination refuses fragments in destinationPath)', () => {
      expect(parseDestination('/a#b', ours).rawPath).to.equal('/a#b');
    });

    it('400 when missing or not a URL', () => {
      expect(status(() => parseDestination(undefined, ours))).to.equal(400);
      expect(status(() => parseDestination('', ours))).to.equal(400);
      expect(status(() => parseDestination('not a url', ours))).to.equal(400);
    });
  });

  describe('parseLockToken', () => {
    const T = 'urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2';
    it('accepts <token> and the bare token', () => {
      expect(parseLockToken(`<${T}>`)).to.equal(T);
      expect(parseLockToken(` ${T} `)).to.equal(T);
    });
    it('400 for missing, empty or malformed values', () => {
      for (const v of [undefined, '', '<>', '<a b>', 'a b', '(<x:y>)']) expect(status(() => parseLockToken(v))).to.equal(400);
    });
  });
});
