/** Path rules: glob matching, the last matching rule deciding, limits, tree uniformity, parsing. */
import { expect } from 'chai';
import { exactRule, formatRights, globRule, parseRights, parseRules, Rights, treeRule, type Right } from '../../../src/auth/rules.js';
import { parseUsers } from '../../../src/auth/users.js';
import { userRights } from '../../../src/auth/user-rights.js';

const set = (...r: Right[]): Set<Right> => new Set(r);
const all = set('list', 'read', 'create', 'update', 'delete', 'lock');

describe('auth/rules', () => {
  it('matches globs: anchored, unanchored, * and ? within a segment, ** across segments', () => {
    const table: [string, string, boolean][] = [
      ['/docs/**', '/docs', true],
      ['/docs/**', '/docs/a/b.txt', true],
      ['/docs/**', '/docsx', false],
      ['/docs/**', '/', false],
      ['/**', '/', true],
      ['/**', '/a/b', true],
      ['/', '/', true],
      ['/', '/a', false],
      ['/inbox/*', '/inbox/a.pdf', true],
      ['/inbox/*', '/inbox', false],
      ['/inbox/*', '/inbox/a/b', false],
      ['*.key', '/a.key', true],
      ['*.key', '/deep/er/a.key', true],
      ['*.key', '/a.keys', false],
      ['/a/?.txt', '/a/b.txt', true],
      ['/a/?.txt', '/a/bb.txt', false],
      ['/a/**/z', '/a/z', true],
      ['/a/**/z', '/a/b/c/z', true],
      ['/a/**/z', '/a/b/c/y', false],
      ['/a.b/(x)', '/a.b/(x)', true],
      ['/a.b/(x)', '/aXb/(x)', false],
      ['/Docs/**', '/docs/a', false],
    ];
    for (const [pattern, path, want] of table) expect(globRule(pattern, all, 't').matches(path), `${pattern} vs ${path}`).to.equal(want);
  });

  it('lets the last matching rule decide every right; no rule means no right', () => {
    const r = new Rights([
      treeRule('/', all, 'access'),
      globRule('*.key', set(), 'global'),
      globRule('/inbox', set('list'), 'u0'),
      globRule('/inbox/*', set('create'), 'u1'),
    ]);
    expect(formatRights(r.at('/a.txt').rights)).to.equal('list read create update delete lock');
    expect(r.at('/x/a.key').rights.size).to.equal(0);
    expect(r.at('/x/a.key').rule!.source).to.equal('global');
    expect([...r.at('/inbox').rights]).to.deep.equal(['list']);
    expect([...r.at('/inbox/a.key').rights]).to.deep.equal(['create']);
    expect(r.at('/inbox/a.key').rule!.source).to.equal('u1');
    expect(r.matching('/inbox/a.key').map((x) => x.source)).to.deep.equal(['access', 'global', 'u1']);
    expect(new Rights([globRule('/only/**', all, 'x')]).at('/other').rule).to.equal(undefined);
    expect(r.mayWrite).to.equal(true);
    expect(new Rights([treeRule('/', set('list', 'read'), 'ro')]).mayWrite).to.equal(false);
  });

  it('applies the limits of a credential after the rules: scope, then read-only', () => {
    const r = new Rights([treeRule('/', all, 'access')]).limitedBy({ scope: '/photos', readOnly: true, source: 'app password "phone"' });
    expect(formatRights(r.at('/photos/a.jpg').rights)).to.equal('list read');
    expect(r.at('/photos/a.jpg').limit!.source).to.equal('app password "phone"');
    expect(r.at('/photos').rights.size).to.equal(2);
    expect(r.at('/').rights.size).to.equal(0);
    expect(r.at('/photosx').rights.size).to.equal(0);
    expect(r.mayWrite).to.equal(false);
  });

  it('knows when one member of a tree stands for all of them', () => {
    const r = new Rights([treeRule('/', all, 'a'), globRule('/docs/**', set('list', 'read'), 'b'), exactRule('/x/y', set(), 'c')]);
    expect(r.uniformBelow('/docs')).to.equal(true);
    expect(r.uniformBelow('/docs/sub')).to.equal(true);
    expect(r.uniformBelow('/other')).to.equal(true);
    expect(r.uniformBelow('/')).to.equal(false); // /docs/** and /x/y decide some members differently
    expect(r.uniformBelow('/x')).to.equal(false);
    expect(r.uniformBelow('/x/y')).to.equal(true);
    expect(new Rights([treeRule('/', all, 'a'), globRule('*.key', set(), 'b')]).uniformBelow('/any')).to.equal(false);
    expect(new Rights([treeRule('/', all, 'a')]).limitedBy({ scope: '/p', source: 's' }).uniformBelow('/')).to.equal(false);
    expect(new Rights([treeRule('/', all, 'a')]).limitedBy({ scope: '/p', source: 's' }).uniformBelow('/p/q')).to.equal(true);
  });

  it('parses rights and rules, refusing mistakes with the place they are at', () => {
    expect([...parseRights(['read', 'LIST'], 'x')]).to.deep.equal(['read', 'list']);
    expect(parseRights('ro', 'x').size).to.equal(2);
    expect(parseRights('all', 'x').size).to.equal(6);
    expect(parseRights('none', 'x').size).to.equal(0);
    expect(parseRights('list, read', 'x').size).to.equal(2);
    expect(() => parseRights(['write'], 'users.a.rules[0]')).to.throw(/users.a.rules\[0\]: unknown right "write"/);
    expect(() => parseRules([{ path: '/a/../b', rights: [] }], 'rules')).to.throw(/rules\[0\]: path \/a\/..\/b may not contain/);
    expect(() => parseRules([{ path: '/a' }], 'rules')).to.throw(/rights missing/);
    expect(() => parseRules([{ path: '/a', rights: [], extra: 1 }], 'rules')).to.throw(/unknown key extra/);
    expect(() => parseRules({ path: '/a' }, 'rules')).to.throw(/expected a list/);
  });

  it('merges the users file in order: access, global rules, the user\'s rules', () => {
    const users = parseUsers(
      [
        'rules:',
        '  - { path: "**/.git/**", rights: [list, read] }',
        'users:',
        '  alice: { root: /alice, access: rw, rules: [{ path: /inbox/*, rights: [create] }] }',
        '  bob: { root: /bob, access: ro }',
        '  carol: { root: /carol, access: ro, rules: [{ path: /drop/**, rights: [create] }] }',
      ].join('\n'),
      'users.yaml',
    );
    const alice = userRights('alice', users.get('alice')!, 'users.yaml')!;
    expect(alice.matching('/inbox/.git').map((r) => r.source)).to.deep.equal(['users.yaml users.alice.access (read-write)', 'users.yaml rules[0]', 'users.yaml users.alice.rules[0]']);
    expect(formatRights(alice.at('/p/.git/config').rights)).to.equal('list read');
    // The global rule applies to bob too, though he has no rules of his own.
    expect(users.get('bob')!.rules!.length).to.equal(1);
    const carol = userRights('carol', users.get('carol')!)!;
    expect(carol.mayWrite).to.equal(true);
    expect(formatRights(carol.at('/drop/x').rights)).to.equal('create');
    expect(formatRights(carol.at('/else').rights)).to.equal('list read');
    expect(() => parseUsers('users:\n  a: { root: /a, rules: [{ path: /x, rights: [fly] }] }', 'u.yaml')).to.throw(/u.yaml users.a.rules\[0\]: unknown right "fly"/);
  });

  it('a ceiling (a share link\'s owner) caps rights at the mapped path and breaks tree uniformity', () => {
    const owner = new Rights([treeRule('/', all, 'access'), globRule('/docs/secret/**', set(), 'secret'), globRule('/docs/in/*', set('create'), 'in')]);
    const link = new Rights([treeRule('/', set('list', 'read', 'create'), 'link')]);
    const capped = link.limitedBy({ ceiling: { rights: owner, map: (p) => (p === '/' ? '/docs' : '/docs' + p) }, source: 'owner' });
    expect(formatRights(capped.at('/a.txt').rights)).to.equal('list read create');
    const closed = capped.at('/secret/x');
    expect(formatRights(closed.rights)).to.equal('(none)');
    expect(closed.limit?.source).to.equal('owner');
    expect(formatRights(capped.at('/in/up.txt').rights)).to.equal('create');
    expect(link.uniformBelow('/')).to.equal(true);
    expect(capped.uniformBelow('/')).to.equal(false);
    expect(capped.uniformBelow('/secret')).to.equal(true);
  });
});
