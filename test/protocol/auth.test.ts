/** Authentication (Basic + htpasswd), authorisation (per-user roots, read-only users), lock principals, TLS, safe defaults. */
import { expect } from 'chai';
import { readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { lockBody, makeTempDir, startTestServer, spawnCli, cliPath, request, type TestServer } from '../helpers/server.js';
import { basic, httpsReq, makeCert, writeHtpasswd } from '../helpers/auth.js';
import { resolveOptions, ConfigError } from '../../src/config.js';
import { hashKind, parseHtpasswd } from '../../src/auth/htpasswd.js';
import { hashPool } from '../../src/auth/hash-pool.js';
import { parseBasic } from '../../src/auth/basic.js';
import { parseUsers } from '../../src/auth/users.js';

const PROPFIND0 = { Depth: '0' };

describe('authentication: Basic against htpasswd', () => {
  let dir: string;
  let srv: TestServer;

  before(async () => {
    dir = await makeTempDir('auth');
    const htpasswd = await writeHtpasswd(dir, { alice: 'wonder land' }, [
      // htpasswd -nbB u secret / -nbm / -nbs (hashes made by Apache's htpasswd)
      'ybcrypt:$2y$05$klsecaTzVJDG7B8mB7ZiQuxAjXthYBpPuiD8MvCrPdJPjUaTya.y6',
      'md5user:$apr1$b235Vx.h$CifKpaLUZi/S3VX28z5ve0',
      'shauser:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
      'plain:secret',
    ]);
    // Many deliberate failures from one address: the defender (test/security/defender.test.ts) stays out of it.
    srv = await startTestServer({ htpasswd, realm: 'Test Realm', authMaxFailures: 0 });
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 401 with a Basic challenge naming the realm when credentials are missing', async () => {
    for (const method of ['GET', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'LOCK']) {
      const r = await srv.req(method, '/x', { headers: PROPFIND0 });
      expect(r.status, method).to.equal(401);
      expect(r.headers['www-authenticate']).to.equal('Basic realm="Test Realm", charset="UTF-8"');
    }
    expect(await readdirNames(srv.root)).to.not.include('x');
  });

  it('answers 401 to a wrong password, an unknown user, and malformed or non-Basic credentials', async () => {
    for (const auth of [basic('alice', 'wrong'), basic('nobody', 'wonder land'), basic('alice', ''), 'Basic !!!', 'Basic', 'Digest username="alice"', 'Bearer abc', basic('', 'x')]) {
      const r = await srv.req('PROPFIND', '/', { headers: { ...PROPFIND0, Authorization: auth } });
      expect(r.status, auth).to.equal(401);
      expect(r.headers['www-authenticate']).to.match(/^Basic realm=/);
    }
  });

  it('accepts bcrypt ($2b$, $2y$), apr1 and {SHA} hashes, and refuses plain text', async () => {
    for (const [u, p] of [['alice', 'wonder land'], ['ybcrypt', 'secret'], ['md5user', 'secret'], ['shauser', 'secret']]) {
      const r = await srv.req('PROPFIND', '/', { headers: { ...PROPFIND0, Authorization: basic(u!, p!) } });
      expect(r.status, u).to.equal(207);
      const bad = await srv.req('PROPFIND', '/', { headers: { ...PROPFIND0, Authorization: basic(u!, p + 'x') } });
      expect(bad.status, u).to.equal(401);
    }
    const plain = await srv.req('PROPFIND', '/', { headers: { ...PROPFIND0, Authorization: basic('plain', 'secret') } });
    expect(plain.status).to.equal(401);
  });

  it('answers OPTIONS without credentials', async () => {
    const r = await srv.req('OPTIONS', '/');
    expect(r.status).to.equal(200);
    expect(r.headers.dav).to.equal('1, 2');
    expect(r.headers['ms-author-via']).to.equal('DAV');
  });

  it('lets an authenticated user read and write, and keeps answering from the credential cache', async () => {
    const auth = basic('alice', 'wonder land');
    expect((await srv.req('PUT', '/a.txt', { headers: { Authorization: auth }, body: 'hello' })).status).to.equal(201);
    for (let i = 0; i < 5; i++) {
      const r = await srv.req('GET', '/a.txt', { headers: { Authorization: auth } });
      expect(r.status).to.equal(200);
      expect(r.body).to.equal('hello');
    }
    // A cached success must not vouch for another password.
    expect((await srv.req('GET', '/a.txt', { headers: { Authorization: basic('alice', 'wonder lan') } })).status).to.equal(401);
  });

  it('picks up a changed htpasswd file', async function () {
    this.timeout(10_000);
    const file = srv.running.dav.services.options.htpasswd!;
    const before = await readFile(file, 'utf8');
    const other = await makeTempDir('auth2');
    const next = await readFile(await writeHtpasswd(other, { alice: 'new pass' }), 'utf8');
    await rm(other, { recursive: true, force: true });
    await writeFile(file, next);
    try {
      await new Promise((r) => setTimeout(r, 2200));
      expect((await srv.req('PROPFIND', '/', { headers: { ...PROPFIND0, Authorization: basic('alice', 'new pass') } })).status).to.equal(207);
      expect((await srv.req('PROPFIND', '/', { headers: { ...PROPFIND0, Authorization: basic('alice', 'wonder land') } })).status).to.equal(401);
    } finally {
      await writeFile(file, before);
      await new Promise((r) => setTimeout(r, 2200));
    }
  });
});

describe('authorisation: per-user roots and read-only users', () => {
  let dir: string;
  let srv: TestServer;
  const H = (user: string, extra: Record<string, string> = {}) => ({ Authorization: basic(user, `${user}-pw`), ...extra });

  before(async () => {
    dir = await makeTempDir('authz');
    const users = ['alice', 'erin', 'bob', 'carol', 'admin', 'dave'];
    const htpasswd = await writeHtpasswd(dir, Object.fromEntries(users.map((u) => [u, `${u}-pw`])));
    const usersFile = join(dir, 'users.yaml');
    await writeFile(
      usersFile,
      `users:
  alice: { root: /alice, access: read-write }
  erin:  { root: /alice, access: rw }
  bob:   { root: /bob, access: rw }
  carol: { root: /alice, access: read-only }
  admin: { root: /, access: rw }
`,
    );
    srv = await startTestServer({ htpasswd, users: usersFile });
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the user roots and maps each user to theirs, with hrefs relative to what the user sees', async () => {
    expect((await stat(join(srv.root, 'alice'))).isDirectory()).to.equal(true);
    expect((await stat(join(srv.root, 'bob'))).isDirectory()).to.equal(true);
    expect((await srv.req('PUT', '/a.txt', { headers: H('alice'), body: 'alice data' })).status).to.equal(201);
    expect(await readFile(join(srv.root, 'alice', 'a.txt'), 'utf8')).to.equal('alice data');
    const r = await srv.req('PROPFIND', '/', { headers: H('alice', { Depth: '1' }) });
    expect(r.status).to.equal(207);
    expect(r.body).to.include('<D:href>/a.txt</D:href>');
    expect(r.body).to.not.include('/alice/');
    const admin = await srv.req('PROPFIND', '/alice/', { headers: H('admin', { Depth: '1' }) });
    expect(admin.body).to.include('<D:href>/alice/a.txt</D:href>');
  });

  it("never lets a user see or touch another user's root", async () => {
    await srv.req('PUT', '/a.txt', { headers: H('alice'), body: 'alice data' });
    expect((await srv.req('GET', '/a.txt', { headers: H('bob') })).status).to.equal(404);
    for (const p of ['/../alice/a.txt', '/%2e%2e/alice/a.txt', '/..%2falice%2fa.txt', '/%2E%2E%5Calice%5Ca.txt']) {
      const r = await srv.req('GET', p, { headers: H('bob') });
      expect(r.status, p).to.be.oneOf([400, 403, 404]);
      expect(r.body).to.not.include('alice data');
    }
    expect((await srv.req('PUT', '/b.txt', { headers: H('bob'), body: 'bob' })).status).to.equal(201);
    for (const d of ['/../alice/stolen.txt', '/%2e%2e/alice/stolen.txt', 'http://127.0.0.1/../alice/stolen.txt']) {
      const r = await srv.req('COPY', '/b.txt', { headers: H('bob', { Destination: d.startsWith('http') ? d.replace('127.0.0.1', new URL(srv.base).host) : d }) });
      expect(r.status, d).to.be.oneOf([400, 403, 404, 502]);
    }
    // A COPY "to /alice/..." lands inside bob's own root.
    const c = await srv.req('COPY', '/b.txt', { headers: H('bob', { Destination: '/alice-copy.txt' }) });
    expect(c.status).to.equal(201);
    expect(await readdirNames(join(srv.root, 'alice'))).to.not.include('stolen.txt');
    expect(await readdirNames(join(srv.root, 'bob'))).to.include('alice-copy.txt');
  });

  it('refuses to start when a user root leads outside the served directory through a symlink', async () => {
    const outside = await makeTempDir('outside');
    const root = await makeTempDir('linkroot');
    try {
      await symlink(outside, join(root, 'link'));
      const usersFile = join(dir, 'users-link.yaml');
      await writeFile(usersFile, 'users:\n  alice: { root: /link/alice, access: rw }\n');
      const err = await startTestServer({ root, htpasswd: join(dir, 'htpasswd'), users: usersFile }).then(
        async (s) => {
          await s.close();
          return null;
        },
        (e: Error) => e,
      );
      expect(err).to.be.instanceOf(ConfigError);
      expect(await readdirNames(outside)).to.deep.equal([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a user who is in htpasswd but not in the users file', async () => {
    const r = await srv.req('PROPFIND', '/', { headers: H('dave', PROPFIND0) });
    expect(r.status).to.equal(403);
  });

  it('gives a read-only user 403 for every write method, and reads', async () => {
    await srv.req('PUT', '/ro.txt', { headers: H('alice'), body: 'keep me' });
    const writes: [string, string, Record<string, string>, string?][] = [
      ['PUT', '/ro.txt', {}, 'changed'],
      ['PUT', '/new.txt', {}, 'x'],
      ['DELETE', '/ro.txt', {}],
      ['MKCOL', '/newdir', {}],
      ['COPY', '/ro.txt', { Destination: '/copy.txt' }],
      ['MOVE', '/ro.txt', { Destination: '/moved.txt' }],
      ['PROPPATCH', '/ro.txt', { 'Content-Type': 'application/xml' }, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>'],
      ['LOCK', '/ro.txt', { 'Content-Type': 'application/xml' }, lockBody()],
      ['UNLOCK', '/ro.txt', { 'Lock-Token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' }],
      ['POST', '/ro.txt', {}, 'x'],
    ];
    for (const [m, p, h, body] of writes) {
      const r = await srv.req(m, p, { headers: H('carol', h), body });
      expect(r.status, m).to.equal(403);
    }
    expect(await readFile(join(srv.root, 'alice', 'ro.txt'), 'utf8')).to.equal('keep me');
    const names = await readdirNames(join(srv.root, 'alice'));
    for (const n of ['new.txt', 'newdir', 'copy.txt', 'moved.txt']) expect(names).to.not.include(n);
    expect((await srv.req('GET', '/ro.txt', { headers: H('carol') })).body).to.equal('keep me');
    expect((await srv.req('HEAD', '/ro.txt', { headers: H('carol') })).status).to.equal(200);
    expect((await srv.req('PROPFIND', '/ro.txt', { headers: H('carol', PROPFIND0) })).status).to.equal(207);
    expect((await srv.req('OPTIONS', '/', { headers: H('carol') })).status).to.equal(200);
  });

  it('shares dead properties between views of the same resource', async () => {
    await srv.req('PUT', '/p.txt', { headers: H('alice'), body: 'p' });
    const set = await srv.req('PROPPATCH', '/p.txt', {
      headers: H('alice', { 'Content-Type': 'application/xml' }),
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:color xmlns:x="urn:x">blue</x:color></D:prop></D:set></D:propertyupdate>',
    });
    expect(set.status).to.equal(207);
    const body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><x:color xmlns:x="urn:x"/></D:prop></D:propfind>';
    const admin = await srv.req('PROPFIND', '/alice/p.txt', { headers: H('admin', PROPFIND0), body });
    expect(admin.body, admin.body).to.match(/<x:color[^>]*>blue<\/x:color>/);
    const erin = await srv.req('PROPFIND', '/p.txt', { headers: H('erin', PROPFIND0), body });
    expect(erin.body).to.match(/<x:color[^>]*>blue<\/x:color>/);
    expect(await readdirNames(join(srv.root, 'alice'))).to.not.include('.davmeta');
    // The user's root itself is /alice in the administrator's view.
    const rootSet = await srv.req('PROPPATCH', '/', {
      headers: H('alice', { 'Content-Type': 'application/xml' }),
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:color xmlns:x="urn:x">green</x:color></D:prop></D:set></D:propertyupdate>',
    });
    expect(rootSet.status).to.equal(207);
    const adminRoot = await srv.req('PROPFIND', '/alice', { headers: H('admin', PROPFIND0), body });
    expect(adminRoot.body).to.match(/<x:color[^>]*>green<\/x:color>/);
    const adminTop = await srv.req('PROPFIND', '/', { headers: H('admin', PROPFIND0), body });
    expect(adminTop.body).to.not.include('green');
  });

  describe('lock principals', () => {
    let token: string;
    before(async () => {
      await srv.req('PUT', '/locked.txt', { headers: H('alice'), body: 'v1' });
      const r = await srv.req('LOCK', '/locked.txt', { headers: H('alice', { 'Content-Type': 'application/xml', Timeout: 'Second-600' }), body: lockBody() });
      expect(r.status).to.equal(200);
      token = /<(.+)>/.exec(r.headers['lock-token'] as string)![1]!;
      expect(r.body).to.include('<D:href>/locked.txt</D:href>');
    });

    it("does not let another user write with the lock's token", async () => {
      const r = await srv.req('PUT', '/locked.txt', { headers: H('erin', { If: `(<${token}>)` }), body: 'erin' });
      expect(r.status).to.equal(423);
      expect(r.body).to.include('lock-token-submitted');
      expect(await readFile(join(srv.root, 'alice', 'locked.txt'), 'utf8')).to.equal('v1');
    });

    it('does not let another user UNLOCK or refresh it', async () => {
      expect((await srv.req('UNLOCK', '/locked.txt', { headers: H('erin', { 'Lock-Token': `<${token}>` }) })).status).to.equal(403);
      expect((await srv.req('LOCK', '/locked.txt', { headers: H('erin', { If: `(<${token}>)` }) })).status).to.equal(412);
    });

    it('blocks a user with a wider root (same lock manager) and names the lock root in their view', async () => {
      const r = await srv.req('PUT', '/alice/locked.txt', { headers: H('admin', { If: `(<${token}>)` }), body: 'admin' });
      expect(r.status).to.equal(423);
      expect(r.body).to.include('<D:href>/alice/locked.txt</D:href>');
      const d = await srv.req('DELETE', '/alice', { headers: H('admin') });
      expect(d.status).to.equal(423);
      const pf = await srv.req('PROPFIND', '/alice/locked.txt', {
        headers: H('admin', PROPFIND0),
        body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>',
      });
      // The lock is visible in admin's view, its token is not (only alice may use it).
      expect(pf.body).to.include('<D:lockroot><D:href>/alice/locked.txt</D:href></D:lockroot>');
      expect(pf.body).to.not.include(token);
    });

    it("is invisible from another user's root", async () => {
      const r = await srv.req('UNLOCK', '/locked.txt', { headers: H('bob', { 'Lock-Token': `<${token}>` }) });
      expect(r.status).to.be.oneOf([404, 409]);
    });

    it('lets the owner write with the token and unlock', async () => {
      expect((await srv.req('PUT', '/locked.txt', { headers: H('alice', { If: `(<${token}>)` }), body: 'v2' })).status).to.equal(204);
      expect((await srv.req('UNLOCK', '/locked.txt', { headers: H('alice', { 'Lock-Token': `<${token}>` }) })).status).to.equal(204);
      expect((await srv.req('PUT', '/locked.txt', { headers: H('erin'), body: 'v3' })).status).to.equal(204);
    });
  });
});

describe('TLS', () => {
  let dir: string;
  let srv: TestServer;
  before(async function () {
    this.timeout(20_000);
    dir = await makeTempDir('tls');
    const { cert, key } = makeCert(dir);
    const htpasswd = await writeHtpasswd(dir, { alice: 'pw' });
    srv = await startTestServer({ tlsCert: cert, tlsKey: key, htpasswd });
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with --tls-cert/--tls-key, Basic auth included', async () => {
    expect(srv.running.url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const base = srv.running.url;
    expect((await httpsReq(base, 'OPTIONS', '/')).status).to.equal(200);
    expect((await httpsReq(base, 'PROPFIND', '/', { headers: PROPFIND0 })).status).to.equal(401);
    expect((await httpsReq(base, 'PUT', '/t.txt', { headers: { Authorization: basic('alice', 'pw') }, body: 'over tls' })).status).to.equal(201);
    const r = await httpsReq(base, 'GET', '/t.txt', { headers: { Authorization: basic('alice', 'pw') } });
    expect(r.status).to.equal(200);
    expect(r.body).to.equal('over tls');
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const err = await request(srv.base, 'OPTIONS', '/').then(
      (r) => r.status,
      (e: Error) => e,
    );
    expect(err === 400 || err instanceof Error, String(err)).to.equal(true);
  });

  it('refuses a certificate without a key, or an unreadable one', async () => {
    expect(() => resolveOptions({ tlsCert: '/x.pem' })).to.throw(ConfigError, /--tls-cert and --tls-key/);
    const r = await startTestServer({ tlsCert: join(dir, 'missing.pem'), tlsKey: join(dir, 'missing.pem') }).then(
      async (s) => {
        await s.close();
        return null;
      },
      (e: Error) => e,
    );
    expect(r).to.be.instanceOf(ConfigError);
  });
});

describe('safe defaults', () => {
  it('refuses a non-loopback host without authentication unless --allow-anonymous', () => {
    expect(() => resolveOptions({ host: '0.0.0.0' })).to.throw(ConfigError, /--allow-anonymous/);
    expect(() => resolveOptions({ host: '::' })).to.throw(ConfigError);
    expect(() => resolveOptions({ host: '192.168.1.10' })).to.throw(ConfigError);
    expect(() => resolveOptions({ host: '0.0.0.0', allowAnonymous: true })).to.not.throw();
    expect(() => resolveOptions({ host: '0.0.0.0', htpasswd: '/etc/htpasswd' })).to.not.throw();
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(() => resolveOptions({ host: h })).to.not.throw();
    expect(() => resolveOptions({ users: '/u.yaml' })).to.throw(ConfigError, /--htpasswd/);
  });

  it('the CLI exits 2 with a clear message, and warns when --allow-anonymous is given', async () => {
    const run = (args: string[]): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.once('exit', (code) => resolve({ code, out }));
      });
    const root = await makeTempDir('safe');
    try {
      const refused = await run(['--root', root, '--host', '0.0.0.0', '--port', '0']);
      expect(refused.code).to.equal(2);
      expect(refused.out).to.match(/refusing to listen on 0\.0\.0\.0 without authentication/);
      // 192.0.2.1 (TEST-NET-1) is not ours: the server warns, then cannot bind and exits.
      const warned = await run(['--root', root, '--host', '192.0.2.1', '--port', '0', '--allow-anonymous']);
      expect(warned.out).to.match(/WARNING: serving .* on 192\.0\.2\.1 to anyone without authentication/);
      expect(warned.out).to.include('add --allowed-hosts NAME for host names');
      expect(warned.code).to.not.equal(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('never logs passwords or Authorization headers', async () => {
    const root = await makeTempDir('nolog');
    const htpasswd = await writeHtpasswd(root, { alice: 'TopSecretPw1' });
    const srv = await spawnCli(['--root', root, '--port', '0', '--htpasswd', htpasswd]);
    try {
      const secrets = [basic('alice', 'TopSecretPw1'), basic('alice', 'WrongSecretPw2'), basic('mallory', 'TopSecretPw1')];
      for (const a of secrets) {
        await request(srv.base, 'PROPFIND', '/', { headers: { Depth: '0', Authorization: a } });
        await request(srv.base, 'PUT', '/%zz', { headers: { Authorization: a }, body: 'x' });
        await request(srv.base, 'LOCK', '/x', { headers: { Authorization: a, 'Content-Type': 'application/xml' }, body: '<broken' });
      }
    } finally {
      await srv.stop();
    }
    const out = srv.output();
    for (const s of ['TopSecretPw1', 'WrongSecretPw2', Buffer.from('alice:TopSecretPw1').toString('base64'), 'Authorization', '$2']) expect(out).to.not.include(s);
    await rm(root, { recursive: true, force: true });
  });
});

describe('auth parsing units', () => {
  it('apr1 matches Apache htpasswd', async () => {
    expect(await hashPool.verify('secret', '$apr1$b235Vx.h$CifKpaLUZi/S3VX28z5ve0')).to.equal(true);
    expect(await hashPool.verify('secreT', '$apr1$b235Vx.h$CifKpaLUZi/S3VX28z5ve0')).to.equal(false);
  });

  it('classifies hashes and reports unsupported lines', () => {
    expect(hashKind('$2y$05$klsecaTzVJDG7B8mB7ZiQuxAjXthYBpPuiD8MvCrPdJPjUaTya.y6')).to.equal('bcrypt');
    expect(hashKind('secret')).to.equal('unsupported');
    expect(hashKind('abJnggxhB/yWI')).to.equal('unsupported'); // DES crypt
    const { entries, problems } = parseHtpasswd('# comment\nu:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbad\np:plain\n');
    expect([...entries.keys()]).to.deep.equal(['u', 'p']);
    expect(problems).to.have.length(2);
    expect(problems.join()).to.not.include('plain');
  });

  it('parses Basic credentials with a colon in the password and UTF-8', () => {
    expect(parseBasic('Basic ' + Buffer.from('ünï:pa:ss').toString('base64'))).to.deep.equal({ user: 'ünï', password: 'pa:ss' });
    expect(parseBasic('basic   ' + Buffer.from('u:p').toString('base64'))).to.deep.equal({ user: 'u', password: 'p' });
    expect(parseBasic('Basic ' + Buffer.from(':p').toString('base64'))).to.equal(null);
    expect(parseBasic('Negotiate abc')).to.equal(null);
  });

  it('parses users files (YAML and JSON) and refuses roots that climb', () => {
    const y = parseUsers('users:\n  a: { root: /x/, access: rw }\n  b: { root: / }\n', 'u.yaml');
    expect(y.get('a')).to.deep.equal({ root: '/x', readOnly: false });
    expect(y.get('b')).to.deep.equal({ root: '/', readOnly: true });
    const j = parseUsers('{"users":{"a":{"root":"/a","access":"read-only"}}}', 'u.json');
    expect(j.get('a')).to.deep.equal({ root: '/a', readOnly: true });
    expect(() => parseUsers('users:\n  a: { root: /../etc }\n', 'u.yaml')).to.throw(ConfigError, /may not contain/);
    expect(() => parseUsers('users:\n  a: { root: x }\n', 'u.yaml')).to.throw(ConfigError, /absolute/);
    expect(() => parseUsers('users:\n  a: { root: /a, access: admin }\n', 'u.yaml')).to.throw(ConfigError, /access/);
    expect(() => parseUsers('users:\n  a: { root: /a, rights: rw }\n', 'u.yaml')).to.throw(ConfigError, /unknown key/);
    expect(() => parseUsers('[1,2]', 'u.json')).to.throw(ConfigError);
  });
});

async function readdirNames(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(dir);
}

