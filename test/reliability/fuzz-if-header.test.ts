/** Property-based tests of the If header parser (RFC 4918 10.4), fixed seed. */
import fc from 'fast-check';
import { expect } from 'chai';
import { parseIfHeader, submittedTokens, type IfList } from '../../src/dav/if-header.js';
import { mutated, onlyDavError, params } from './fuzz-helpers.js';

const IF_CHARS = fc.constantFrom('(', ')', '<', '>', '[', ']', '"', ' ', '\t', 'N', 'o', 't', 'W', '/', ':', 'u', 'r', 'n', 'a', '1', '-', '\r', '\n', '\0', 'é');

const token = fc.stringMatching(/^[A-Za-z0-9:._\-/?=%]{1,40}$/);
const etagBody = fc.stringMatching(/^[A-Za-z0-9._\-/ ]{0,20}$/);
const etag = fc.tuple(fc.boolean(), etagBody).map(([weak, b]) => `${weak ? 'W/' : ''}"${b}"`);
const condition = fc.oneof(
  fc.record({ not: fc.boolean(), token }),
  fc.record({ not: fc.boolean(), etag }),
);
const list = fc.array(condition, { minLength: 1, maxLength: 5 });
const resource = fc.stringMatching(/^(https?:\/\/h(:\d{2,4})?)?\/[A-Za-z0-9/%._-]{0,30}$/);
const ws = fc.constantFrom('', ' ', '  ', '\t', ' \r\n ');

type Cond = { not: boolean; token?: string; etag?: string };

function writeList(conds: Cond[], w: string): string {
  return '(' + conds.map((c) => `${w}${c.not ? 'Not ' : ''}${c.token !== undefined ? `<${c.token}>` : `[${c.etag}]`}`).join(' ') + w + ')';
}

const untagged = fc.tuple(fc.array(list, { minLength: 1, maxLength: 4 }), ws).map(([lists, w]) => ({
  text: lists.map((l) => writeList(l, w)).join(w || ' '),
  expected: lists.map((conditions) => ({ resource: undefined, conditions })) as IfList[],
}));
const tagged = fc.tuple(fc.array(fc.tuple(resource, fc.array(list, { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 3 }), ws).map(([groups, w]) => ({
  text: groups.map(([r, lists]) => `<${r}>${w}` + lists.map((l) => writeList(l, w)).join(w)).join(' '),
  expected: groups.flatMap(([r, lists]) => lists.map((conditions) => ({ resource: r, conditions }))) as IfList[],
}));
const wellFormed = fc.oneof(untagged, tagged);

const normalise = (lists: IfList[]): unknown =>
  lists.map((l) => ({ resource: l.resource, conditions: l.conditions.map((c) => (c.token !== undefined ? { not: c.not, token: c.token } : { not: c.not, etag: c.etag })) }));

describe('fuzz: If header parser', () => {
  it('round-trips every well-formed header it is given', () => {
    fc.assert(
      fc.property(wellFormed, ({ text, expected }) => {
        expect(normalise(parseIfHeader(text))).to.deep.equal(normalise(expected));
        const tokens = submittedTokens(parseIfHeader(text));
        for (const l of expected) for (const c of l.conditions) if (c.token) expect(tokens.has(c.token)).to.equal(true);
      }),
      params,
    );
  });

  it('answers random strings with a list or a 400 DavError, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: IF_CHARS, maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 })), (s) => {
        const r = onlyDavError(() => parseIfHeader(s), 400);
        if (r) for (const l of r) expect(l.conditions.length).to.be.greaterThan(0);
      }),
      params,
    );
  });

  it('answers mutated well-formed headers with a list or a 400 DavError', () => {
    fc.assert(
      fc.property(mutated(wellFormed.map((w) => w.text), IF_CHARS), (s) => {
        onlyDavError(() => parseIfHeader(s), 400);
      }),
      params,
    );
  });

  it('stays linear on huge hostile headers', () => {
    for (const s of ['('.repeat(200_000), '(<'.repeat(100_000), '<a>'.repeat(100_000), '(Not '.repeat(50_000), '([' + '"'.repeat(200_000)]) {
      onlyDavError(() => parseIfHeader(s), 400);
    }
  });
});
