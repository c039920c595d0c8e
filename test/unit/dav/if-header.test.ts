import { expect } from 'chai';
import { parseIfHeader, evaluateIf, submittedTokens, etagMatches, type IfList, type ResourceState } from '../../../src/dav/if-header.js';
import { DavError } from '../../../src/errors.js';

const T1 = 'urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2';
const T2 = 'urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092';

describe('dav/if-header', () => {
  describe('parseIfHeader: valid', () => {
    const cases: [string, string, IfList[]][] = [
      ['one untagged token', `(<${T1}>)`, [{ resource: undefined, conditions: [{ not: false, token: T1 }] }]],
      ['untagged etag', '(["etag1"])', [{ resource: undefined, conditions: [{ not: false, etag: '"etag1"' }] }]],
      ['weak etag', '([W/"w1"])', [{ resource: undefined, conditions: [{ not: false, etag: 'W/"w1"' }] }]],
      ['empty etag', '([""])', [{ resource: undefined, conditions: [{ not: false, etag: '""' }] }]],
      [
        'token and etag AND-ed',
        `(<${T1}> ["e"])`,
        [{ resource: undefined, conditions: [{ not: false, token: T1 }, { not: false, etag: '"e"' }] }],
      ],
      [
        'two untagged lists',
        `(<${T1}>) (Not <DAV:no-lock>)`,
        [
          { resource: undefined, conditions: [{ not: false, token: T1 }] },
          { resource: undefined, conditions: [{ not: true, token: 'DAV:no-lock' }] },
        ],
      ],
      ['Not, any case, no space before <', `(not<${T1}>)`, [{ resource: undefined, conditions: [{ not: true, token: T1 }] }]],
      ['NOT upper case', '(NOT ["x"])', [{ resource: undefined, conditions: [{ not: true, etag: '"x"' }] }]],
      ['DAV:no-lock', '(<DAV:no-lock>)', [{ resource: undefined, conditions: [{ not: false, token: 'DAV:no-lock' }] }]],
      [
        'tagged list with absolute URL',
        `<http://example.com/a/b> (<${T1}>)`,
        [{ resource: 'http://example.com/a/b', conditions: [{ not: false, token: T1 }] }],
      ],
      [
        'two tags, the second with two lists',
        `</a> (<${T1}>) </b> (<${T2}>) (["e"])`,
        [
          { resource: '/a', conditions: [{ not: false, token: T1 }] },
          { resource: '/b', conditions: [{ not: false, token: T2 }] },
          { resource: '/b', conditions: [{ not: false, etag: '"e"' }] },
        ],
      ],
      [
        'RFC 4918 10.4.2 example',
        '(<urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2> ["I am an ETag"]) (["I am another ETag"])',
        [
          { resource: undefined, conditions: [{ not: false, token: T1 }, { not: false, etag: '"I am an ETag"' }] },
          { resource: undefined, conditions: [{ not: false, etag: '"I am another ETag"' }] },
        ],
      ],
      ['extra whitespace everywhere', `  \t(  <${T1}>   )  `, [{ resource: undefined, conditions: [{ not: false, token: T1 }] }]],
      ['non-URN state token', '(<opaquelocktoken:abc>)', [{ resource: undefined, conditions: [{ not: false, token: 'opaquelocktoken:abc' }] }]],
      // Not RFC syntax: the npm `webdav` library's lock refresh sends the token alone.
      ['bare token (npm webdav)', T1, [{ resource: undefined, conditions: [{ not: false, token: T1 }] }]],
      ['bracketed token without a list', ` <${T1}> `, [{ resource: undefined, conditions: [{ not: false, token: T1 }] }]],
    ];
    for (const [label, header, want] of cases) {
      it(label, () => expect(parseIfHeader(header)).to.deep.equal(want));
    }
  });

  describe('parseIfHeader: malformed -> 400', () => {
    const bad: [string, string][] = [
      ['empty', ''],
      ['blank', '   '],
      ['empty list', '()'],
      ['unterminated list', `(<${T1}>`],
      ['unterminated token', `(<${T1})`],
      ['unterminated etag', '(["e")'],
      ['etag without quotes', '([e])'],
      ['etag with junk', '(["e" x])'],
      ['token with a space', '(<urn:uuid:a b>)'],
      ['empty token', '(<>)'],
      ['junk in list', '(foo)'],
      ['Not without condition', '(Not)'],
      ['Not Not', `(Not Not <${T1}>)`],
      ['tag without list', '</a>'],
      ['two tags in a row', '</a> </b> (<x:y>)'],
      ['empty tag', `<> (<${T1}>)`],
      ['tag after untagged list', `(<${T1}>) </a> (<${T2}>)`],
      ['trailing junk', `(<${T1}>) x`],
      ['leading junk', `x (<${T1}>)`],
      ['stray close', `(<${T1}>))`],
      ['too many lists', '(<a:b>)'.repeat(65)],
      ['too many conditions', `(${'<a:b> '.repeat(65)})`],
    ];
    for (const [label, header] of bad) {
      it(label, () => {
        let err: unknown;
        try {
          parseIfHeader(header);
        } catch (e) {
          err = e;
        }
        expect(err, header).to.be.instanceOf(DavError);
        expect((err as DavError).status).to.equal(400);
      });
    }
  });

  it('submittedTokens collects every state token, tagged or not', () => {
    const t = submittedTokens(parseIfHeader(`</a> (<${T1}> ["e"]) </b> (Not <${T2}>) (<DAV:no-lock>)`));
    expect([...t].sort()).to.deep.equal([T1, T2, 'DAV:no-lock'].sort());
  });

  it('etagMatches compares weakly', () => {
    expect(etagMatches('"a"', '"a"')).to.equal(true);
    expect(etagMatches('W/"a"', '"a"')).to.equal(true);
    expect(etagMatches('"a"', '"b"')).to.equal(false);
  });

  describe('evaluateIf', () => {
    const state = (etag: string | null, ...tokens: string[]): ResourceState => ({ etag, lockTokens: new Set(tokens) });
    /** Request-URI state `self`; tagged states by tag. */
    const run = async (header: string, self: ResourceState, tagged: Record<string, ResourceState> = {}): Promise<boolean> =>
      evaluateIf(parseIfHeader(header), async (tag) => (tag === undefined ? self : (tagged[tag] ?? state(null))));

    const cases: [string, string, ResourceState, boolean][] = [
      ['matching token', `(<${T1}>)`, state('"e"', T1), true],
      ['token of another lock', `(<${T2}>)`, state('"e"', T1), false],
      ['token on an unlocked resource', `(<${T1}>)`, state('"e"'), false],
      ['no-lock never matches', '(<DAV:no-lock>)', state('"e"'), false],
      ['Not no-lock always holds', '(Not <DAV:no-lock>)', state('"e"', T1), true],
      ['matching etag', '(["e"])', state('"e"'), true],
      ['weak etag matches strong', '([W/"e"])', state('"e"'), true],
      ['other etag', '(["x"])', state('"e"'), false],
      ['etag on a missing resource', '(["e"])', state(null), false],
      ['Not etag on a missing resource', '(Not ["e"])', state(null), true],
      ['Not matching token', `(Not <${T1}>)`, state('"e"', T1), false],
      ['AND: token and right etag', `(<${T1}> ["e"])`, state('"e"', T1), true],
      ['AND: token and wrong etag', `(<${T1}> ["x"])`, state('"e"', T1), false],
      ['OR: first list fails, second holds', `(<${T2}>) (["e"])`, state('"e"', T1), true],
      ['OR: both fail', `(<${T2}>) (["x"])`, state('"e"', T1), false],
      ['litmus fail_cond_put_unlocked style', `(<DAV:no-lock> ["e"])`, state('"e"'), false],
      ['litmus cond_put_with_not', `(<${T1}>) (Not <DAV:no-lock>)`, state('"e"'), true],
      ['shared locks: either token', `(<${T2}>)`, state('"e"', T1, T2), true],
    ];
    for (const [label, header, self, want] of cases) {
      it(`${label} -> ${want}`, async () => expect(await run(header, self)).to.equal(want));
    }

    it('tagged lists apply to their own resource, not the Request-URI', async () => {
      const tagged = { '/other': state('"o"', T2) };
      expect(await run(`</other> (<${T2}>)`, state('"e"'), tagged)).to.equal(true);
      expect(await run(`</other> (<${T1}>)`, state('"e"', T1), tagged)).to.equal(false);
      expect(await run(`</other> (["o"])`, state('"e"'), tagged)).to.equal(true);
      expect(await run(`</other> (["e"])`, state('"e"'), tagged)).to.equal(false);
      expect(await run(`</missing> (<${T1}>) </other> (<${T2}>)`, state('"e"'), tagged)).to.equal(true);
      expect(await run(`</missing> (Not ["x"])`, state('"e"'), tagged)).to.equal(true);
    });

    it('asks for the state of each resource once', async () => {
      const asked: (string | undefined)[] = [];
      const ok = await evaluateIf(parseIfHeader(`</a> (["1"]) </a> (["2"]) </b> (["3"])`), async (tag) => {
        asked.push(tag);
        return state('"3"');
      });
      expect(ok).to.equal(true);
      expect(asked).to.deep.equal(['/a', '/b']);
    });
  });
});
