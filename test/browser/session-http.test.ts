/**
 * Sign-in for the page over HTTP and HTTPS (--htpasswd --users --prefix): the login form and its
 * session cookie (attributes, Secure under TLS, renewal not needed here), CSRF on writes, sign-out,
 * password changes ending sessions, safe redirects, login CSRF, what browsers and WebDAV clients
 * get without credentials, the Connect page and its .reg file, friendly error pages.
 */
import { expect } from 'chai';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { makeTempDir, request, startTestServer, type Res, type TestServer } from '../helpers/server.js';
import { basic, makeCert, writeHtpasswd } from '../helpers/auth.js';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const NAVIGATE = { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' };
const cookieOf = (r: Res): string => /dav_session=([^;]*)/.exec(String(r.headers['set-cookie']))![1]!;

describe('page sign-in and sessions (HTTP)', function () {
  this.timeout(30_000);
  let dir: string;
  let srv: TestServer;
  let htpasswd: string;

  const login = (user: string, password: string, next = '/dav/', extra: Record<string, string> = {}): Promise<Res> =>
    srv.req('POST', '/dav/.dav/login', { headers: { ...FORM, ...extra }, body: new URLSearchParams({ user, password, next }).toString() });
  const withCookie = (c: string, h: Record<string, string> = {}): Record<string, string> => ({ Cookie: `dav_session=${c}`, ...h });
  const csrfOf = async (c: string): Promise<string> => /data-csrf="([^"]+)"/.exec((await srv.req('GET', '/dav/', { headers: withCookie(c, { Accept: 'text/html' }) })).body)![1]!;

  before(async () => {
    dir = await makeTempDir('session');
    htpasswd = await writeHtpasswd(dir, { alice: 'alice pw', bob: 'bob pw', nobody: 'nobody pw' });
    const users = join(dir, 'users.yaml');
    await writeFile(users, 'users:\n  alice: { root: /home/alice, access: read-write }\n  bob: { root: /shared, access: read-only }\n');
    srv = await startTestServer({ prefix: '/dav', lockStore: 'memory', htpasswd, users, realm: 'Files' });
    await mkdir(join(srv.root, 'home', 'alice'), { recursive: true });
    await writeFile(join(srv.root, 'home', 'alice', 'mine.txt'), 'mine');
    await mkdir(join(srv.root, 'shared'), { recursive: true });
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a browser without credentials to the form; WebDAV clients still get the Basic challenge', async () => {
    const nav = await srv.req('GET', '/dav/sub%20dir/?sort=size', { headers: NAVIGATE });
    expect(nav.status).to.equal(303);
    expect(nav.headers.location).to.equal('/dav/.dav/login?next=%2Fdav%2Fsub%2520dir%2F%3Fsort%3Dsize');
    const client = await srv.req('PROPFIND', '/dav/', { headers: { Depth: '0' } });
    expect(client.status).to.equal(401);
    expect(client.headers['www-authenticate']).to.equal('Basic realm="Files", charset="UTF-8"');
    const curl = await srv.req('GET', '/dav/');
    expect(curl.status).to.equal(401);
    expect(curl.headers['www-authenticate']).to.match(/^Basic /);
    // The page's own requests: a 401 no browser opens its password prompt for.
    const pageReq = await srv.req('GET', '/dav/', { headers: { 'X-Dav-Page': '1', Accept: 'application/json' } });
    expect(pageReq.status).to.equal(401);
    expect(pageReq.headers['www-authenticate']).to.equal('Session realm="Files"');
    const form = await srv.req('GET', '/dav/.dav/login?next=%2Fdav%2Fsub%2F', { headers: NAVIGATE });
    expect(form.status).to.equal(200);
    expect(form.headers['content-security-policy']).to.contain("default-src 'none'");
    expect(form.body).to.contain('<form class="form" method="post" action="/dav/.dav/login">');
    expect(form.body).to.contain('<input type="hidden" name="next" value="/dav/sub/">');
    expect(form.body).to.contain('<label for="password">Password</label>');
    expect(form.body).to.not.match(/<script(?! src)/);
  });

  it('signs in with the form: an HttpOnly, SameSite=Strict cookie scoped to the prefix, then the own root', async () => {
    const r = await login('alice', 'alice pw', '/dav/?sort=size');
    expect(r.status).to.equal(303);
    expect(r.headers.location).to.equal('/dav/?sort=size');
    const set = String(r.headers['set-cookie']);
    expect(set).to.match(/^dav_session=v1\.[^;]+; Path=\/dav\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    const c = cookieOf(r);
    const page = await srv.req('GET', '/dav/', { headers: withCookie(c, { Accept: 'text/html' }) });
    expect(page.status).to.equal(200);
    expect(page.body).to.contain('data-name="mine.txt"');
    expect(page.body).to.contain('<span>Signed in as <strong>alice</strong></span>');
    expect(page.body).to.match(/<form class="logout" method="post" action="\/dav\/.dav\/logout"><input type="hidden" name="csrf" value="[\w-]{32}">/);
    expect(page.body).to.match(/data-csrf="[\w-]{32}"/);
    // A wrong password, an unknown user and a user without a root are all refused with the form again.
    for (const [u, p, msg] of [
      ['alice', 'wrong', 'Wrong name or password.'],
      ['mallory', 'x', 'Wrong name or password.'],
      ['nobody', 'nobody pw', 'This name has no access configured on this server.'],
    ]) {
      const bad = await login(u!, p!);
      expect(bad.status, u).to.equal(401);
      expect(bad.headers['set-cookie']).to.equal(undefined);
      expect(bad.body).to.contain(msg);
    }
  });

  it('lets a session read freely but write only with its CSRF token', async () => {
    const c = cookieOf(await login('alice', 'alice pw'));
    expect((await srv.req('PROPFIND', '/dav/', { headers: withCookie(c, { Depth: '1' }) })).status).to.equal(207);
    const noToken = await srv.req('PUT', '/dav/new.txt', { headers: withCookie(c), body: 'x' });
    expect(noToken.status).to.equal(403);
    expect(noToken.body).to.contain('CSRF token missing or wrong');
    expect((await srv.req('DELETE', '/dav/mine.txt', { headers: withCookie(c, { 'X-CSRF-Token': 'forged-forged-forged-forged-1234' }) })).status).to.equal(403);
    const token = await csrfOf(c);
    expect((await srv.req('PUT', '/dav/new.txt', { headers: withCookie(c, { 'X-CSRF-Token': token }), body: 'x' })).status).to.equal(201);
    expect(await readFile(join(srv.root, 'home', 'alice', 'new.txt'), 'utf8')).to.equal('x');
    // A tampered cookie is no session at all.
    const forged = c.replace(/^v1\.[^.]+/, 'v1.' + Buffer.from('bob').toString('base64url'));
    expect((await srv.req('GET', '/dav/', { headers: withCookie(forged) })).status).to.equal(401);
    // A read-only user's session is read-only too.
    const b = cookieOf(await login('bob', 'bob pw'));
    const bt = await csrfOf(b);
    const ro = await srv.req('PUT', '/dav/x.txt', { headers: withCookie(b, { 'X-CSRF-Token': bt }), body: 'x' });
    expect(ro.status).to.equal(403);
    expect(ro.body).to.equal('Read-only access\n');
  });

  it('signs out (the cookie is cleared and refused afterwards) only with the form token', async () => {
    const c = cookieOf(await login('alice', 'alice pw'));
    const token = await csrfOf(c);
    const forged = await srv.req('POST', '/dav/.dav/logout', { headers: withCookie(c, FORM), body: 'csrf=nope' });
    expect(forged.status).to.equal(403);
    const out = await srv.req('POST', '/dav/.dav/logout', { headers: withCookie(c, FORM), body: `csrf=${token}` });
    expect(out.status).to.equal(303);
    expect(out.headers.location).to.equal('/dav/.dav/login?signedout=1');
    expect(String(out.headers['set-cookie'])).to.match(/^dav_session=; Path=\/dav\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    expect((await srv.req('GET', '/dav/', { headers: withCookie(c) })).status).to.equal(401);
    const again = await srv.req('GET', '/dav/.dav/login?signedout=1');
    expect(again.body).to.contain('You are signed out.');
  });

  it('ends every session of a user whose password changes', async () => {
    const c = cookieOf(await login('bob', 'bob pw'));
    expect((await srv.req('GET', '/dav/', { headers: withCookie(c) })).status).to.equal(200);
    const text = await readFile(htpasswd, 'utf8');
    await writeFile(htpasswd, text.replace(/^bob:.*$/m, `bob:${bcrypt.hashSync('new bob pw', 4)}`));
    await new Promise((r) => setTimeout(r, 2100)); // the htpasswd file is re-read every 2 s at most
    expect((await srv.req('GET', '/dav/', { headers: withCookie(c) })).status).to.equal(401);
    expect((await login('bob', 'new bob pw')).status).to.equal(303);
  });

  it('never redirects elsewhere after signing in, and refuses a login form posted from another site', async () => {
    for (const next of ['https://evil.example/', '//evil.example/', '/elsewhere/', '/dav/.dav/login', '/dav\\..\\x']) {
      const r = await login('alice', 'alice pw', next);
      expect(r.headers.location, next).to.equal('/dav/');
    }
    const cross = await login('alice', 'alice pw', '/dav/', { Origin: 'https://evil.example' });
    expect(cross.status).to.equal(403);
    expect(cross.headers['set-cookie']).to.equal(undefined);
    const site = await login('alice', 'alice pw', '/dav/', { 'Sec-Fetch-Site': 'cross-site' });
    expect(site.status).to.equal(403);
  });

  it("offers the browser's own Basic prompt instead (?basic=1)", async () => {
    const ask = await srv.req('GET', '/dav/.dav/login?basic=1&next=%2Fdav%2F', { headers: NAVIGATE });
    expect(ask.status).to.equal(401);
    expect(ask.headers['www-authenticate']).to.equal('Basic realm="Files", charset="UTF-8"');
    expect(ask.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(ask.body).to.contain('<h1>Sign-in needed</h1>');
    const ok = await srv.req('GET', '/dav/.dav/login?basic=1&next=%2Fdav%2F', { headers: { ...NAVIGATE, Authorization: basic('alice', 'alice pw') } });
    expect(ok.status).to.equal(303);
    expect(ok.headers.location).to.equal('/dav/');
    // Basic keeps working for the page itself.
    const page = await srv.req('GET', '/dav/', { headers: { ...NAVIGATE, Authorization: basic('alice', 'alice pw') } });
    expect(page.status).to.equal(200);
    expect(page.body).to.not.contain('class="logout"'); // a browser forgets Basic credentials only when it closes
  });

  it('shows friendly HTML error pages with a way home to people, plain text to clients', async () => {
    const c = cookieOf(await login('alice', 'alice pw'));
    const nf = await srv.req('GET', '/dav/no/such/file.txt', { headers: withCookie(c, NAVIGATE) });
    expect(nf.status).to.equal(404);
    expect(nf.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(nf.headers['content-security-policy']).to.contain("default-src 'none'");
    expect(nf.body).to.contain('<h1>Not found</h1>');
    expect(nf.body).to.contain('<a class="btn primary" href="/dav/">Go to your files</a>');
    const client = await srv.req('GET', '/dav/no/such/file.txt', { headers: withCookie(c) });
    expect(client.headers['content-type']).to.equal('text/plain; charset=utf-8');
    const reserved = await srv.req('GET', '/dav/.dav/nothing', { headers: withCookie(c, NAVIGATE) });
    expect(reserved.status).to.equal(404);
    expect(reserved.body).to.contain('<h1>Not found</h1>');
    const ro = await srv.req('GET', '/dav/x.txt?thumb=1', { headers: { ...NAVIGATE, Authorization: basic('nobody', 'nobody pw') } });
    expect(ro.status).to.equal(403);
    expect(ro.body).to.contain('<h1>Not allowed</h1>');
  });

  it('shows the Connect page for the signed-in user and this URL, and its Windows .reg file', async () => {
    const c = cookieOf(await login('alice', 'alice pw'));
    const r = await srv.req('GET', '/dav/.dav/connect', { headers: withCookie(c, { Accept: 'text/html' }) });
    expect(r.status).to.equal(200);
    expect(r.headers['content-security-policy']).to.contain("script-src 'self'");
    const url = `${srv.base}/dav/`;
    const host = new URL(srv.base).host;
    for (const want of [
      `net use Z: &quot;${url}&quot; /user:alice * /persistent:yes`,
      `dav://${host}/dav/`,
      `webdav://${host}/dav/`,
      `${url} /mnt/files davfs rw,user,noauto,uid=1000,gid=1000,_netdev 0 0`,
      `${url} alice &quot;YOUR-PASSWORD&quot;`,
      `[files]\ntype = webdav\nurl = ${url}\nvendor = owncloud\nuser = alice`,
      `\\\\127.0.0.1@${new URL(srv.base).port}\\DavWWWRoot\\dav`,
      'BasicAuthLevel',
      'FileSizeLimitInBytes',
      'Material Files',
      'Documents</em> by Readdle',
      'data-copy="copy-1"',
    ]) expect(r.body, want).to.contain(want);
    const reg = await srv.req('GET', '/dav/.dav/connect/webclient.reg', { headers: withCookie(c) });
    expect(reg.status).to.equal(200);
    expect(reg.headers['content-disposition']).to.equal('attachment; filename="webclient.reg"');
    expect(reg.raw.subarray(0, 2).equals(Buffer.from([0xff, 0xfe]))).to.equal(true);
    const text = reg.raw.subarray(2).toString('utf16le');
    expect(text).to.match(/^Windows Registry Editor Version 5\.00\r\n/);
    expect(text).to.contain('[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters]');
    expect(text).to.contain('"BasicAuthLevel"=dword:00000002'); // plain HTTP here
    expect(text).to.contain('"FileSizeLimitInBytes"=dword:ffffffff');
    // Without a session: to the form.
    expect((await srv.req('GET', '/dav/.dav/connect', { headers: NAVIGATE })).status).to.equal(303);
  });

  it('marks the cookie Secure under TLS, and the Connect page names https, davs and webdavs', async () => {
    const tdir = await makeTempDir('session-tls');
    const { cert, key } = makeCert(tdir);
    const tls = await startTestServer({ prefix: '/dav', lockStore: 'memory', htpasswd, tlsCert: cert, tlsKey: key });
    try {
      const base = `https://127.0.0.1:${tls.running.port}`;
      const r = await request(base, 'POST', '/dav/.dav/login', { headers: FORM, body: 'user=alice&password=alice%20pw&next=%2Fdav%2F' });
      expect(r.status).to.equal(303);
      expect(String(r.headers['set-cookie'])).to.match(/; HttpOnly; SameSite=Strict; Secure$/);
      const page = await request(base, 'GET', '/dav/.dav/connect', { headers: { Cookie: `dav_session=${cookieOf(r)}` } });
      expect(page.body).to.contain(`davs://127.0.0.1:${tls.running.port}/dav/`);
      expect(page.body).to.contain(`webdavs://127.0.0.1:${tls.running.port}/dav/`);
      expect(page.body).to.contain(`\\\\127.0.0.1@SSL@${tls.running.port}\\DavWWWRoot\\dav`);
      expect(page.body).to.not.contain('This server is reached over plain HTTP');
      const reg = await request(base, 'GET', '/dav/.dav/connect/webclient.reg', { headers: { Cookie: `dav_session=${cookieOf(r)}` } });
      expect(reg.raw.subarray(2).toString('utf16le')).to.contain('"BasicAuthLevel"=dword:00000001');
    } finally {
      await tls.close();
      await rm(tdir, { recursive: true, force: true });
    }
  });

  it('counts failed form sign-ins in the same defender as Basic: a banned client gets 429 on both', async () => {
    const guarded = await startTestServer({ prefix: '/dav', lockStore: 'memory', htpasswd, authMaxFailures: 3, authBan: 60 });
    try {
      const form = (password: string): Promise<Res> =>
        guarded.req('POST', '/dav/.dav/login', { headers: { ...FORM, Accept: 'text/html' }, body: new URLSearchParams({ user: 'alice', password, next: '/dav/' }).toString() });
      for (let i = 0; i < 2; i++) expect((await form('wrong')).status).to.equal(401);
      // The third failure comes through Basic: one counter for both ways in.
      expect((await guarded.req('GET', '/dav/', { headers: { Authorization: basic('alice', 'wrong') } })).status).to.be.oneOf([401, 429]);
      const banned = await form('alice pw');
      expect(banned.status).to.equal(429);
      expect(Number(banned.headers['retry-after'])).to.be.greaterThan(0);
      expect(banned.headers['set-cookie']).to.equal(undefined);
      expect(banned.headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(banned.body).to.contain('<h1>Too many attempts</h1>');
      expect((await guarded.req('GET', '/dav/', { headers: { Authorization: basic('alice', 'alice pw') } })).status).to.equal(429);
    } finally {
      await guarded.close();
    }
  });

  it('needs no sign-in where the server asks for none', async () => {
    const open = await startTestServer({ prefix: '/dav', lockStore: 'memory' });
    try {
      const r = await open.req('GET', '/dav/.dav/login');
      expect(r.status).to.equal(200);
      expect(r.body).to.contain('This server does not ask for a name and password.');
      const connect = await open.req('GET', '/dav/.dav/connect');
      expect(connect.status).to.equal(200);
      expect(connect.body).to.contain('/user:YOUR-NAME');
      expect((await open.req('POST', '/dav/.dav/login', { headers: FORM, body: 'user=a&password=b' })).status).to.equal(404);
    } finally {
      await open.close();
    }
  });
});
