/**
 * Read-only share links against the real server (which otherwise requires authentication): the
 * link's page, downloads, PROPFIND with hrefs below the link, a shared single file, rclone
 * mounting the link as a WebDAV root, a password, download limits, and nothing outside the
 * shared path or of the hidden metadata ever showing through.
 */
import { expect } from 'chai';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt } from '../helpers/dav.js';
import { requireProgram, run } from '../helpers/run.js';
import { cli, hrefsOf, put, startIdentityServer, type IdentityServer } from '../identity/helpers.js';
import { basic } from '../helpers/auth.js';

const USERS = 'users:\n  alice: { root: /alice, access: rw }\n  admin: { root: /, access: rw }\n';

describe('sharing: read-only links', function () {
  this.timeout(180_000);
  let s: IdentityServer;
  const share = async (...args: string[]): Promise<string> => {
    const r = await cli(['share', 'add', ...args, ...s.cliOptions]);
    expect(r.code, r.stderr).to.equal(0);
    const last = r.stdout.trim().split('\n').pop()!;
    expect(last).to.match(/^(\/dav)?\/\.dav\/s\/[A-Za-z0-9_-]{32}\/$/);
    return last;
  };

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
  });
  beforeEach(async () => {
    s = await startIdentityServer({ alice: 'a-pw', admin: 'adm-pw' }, USERS);
    await put(s.root, 'alice/docs/report.txt', 'REPORT');
    await put(s.root, 'alice/docs/sub/deep.txt', 'DEEP');
    await put(s.root, 'alice/docs/notes.md', '# notes');
    await put(s.root, 'alice/private.txt', 'PRIVATE');
    await put(s.root, 'bob/secret.txt', 'BOB');
  });
  afterEach(() => s.close());

  it('a folder link is public where nothing else is: page, download, PROPFIND below the link, no writes', async () => {
    const link = await share('--user', 'alice', '/docs');
    expect((await s.req('GET', '/docs/report.txt')).status).to.equal(401);
    expect((await s.req('GET', '/.dav/shares')).status).to.equal(401);
    const page = await s.req('GET', link, { headers: { Accept: 'text/html' } });
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.body).to.include(`href="${link}report.txt"`);
    expect(page.body).to.include(`href="${link}sub/"`);
    expect(page.body).to.not.include('private.txt');
    // Every link of the page stays inside the link (the server's own files: its assets only).
    for (const [, url] of page.body.matchAll(/(?:href|src)="(\/[^"]*)"/g)) {
      expect(url!.startsWith(link), url).to.equal(true);
      if (url!.includes('/.dav/', link.length - 1)) expect(url!.startsWith(`${link}.dav/assets/`), url).to.equal(true);
    }
    // The page's own script and stylesheet load through the link too.
    const css = page.body.match(/href="([^"]+app\.css)"/)![1]!;
    expect((await s.req('GET', css)).status).to.equal(200);
    expect((await s.req('GET', link, { headers: { Accept: 'text/plain' } })).body).to.equal('sub/\nnotes.md\nreport.txt\n');
    const file = await s.req('GET', `${link}report.txt`);
    expect(file.status).to.equal(200);
    expect(file.body).to.equal('REPORT');
    expect((await s.req('GET', `${link}sub/deep.txt`, { headers: { Range: 'bytes=1-2' } })).body).to.equal('EE');
    const pf = await s.req('PROPFIND', link, { headers: { Depth: 'infinity' } });
    expect(pf.status).to.equal(207);
    expect(hrefsOf(pf.body).sort()).to.deep.equal([link, `${link}notes.md`, `${link}report.txt`, `${link}sub/`, `${link}sub/deep.txt`]);
    for (const [m, p, h] of [
      ['PUT', 'new.txt', {}],
      ['PUT', 'report.txt', {}],
      ['DELETE', 'report.txt', {}],
      ['MKCOL', 'dir', {}],
      ['PROPPATCH', 'report.txt', {}],
      ['LOCK', 'report.txt', {}],
      ['COPY', 'report.txt', { Destination: `${s.base}${link}copy.txt` }],
      ['MOVE', 'report.txt', { Destination: `${s.base}${link}moved.txt` }],
    ] as [string, string, Record<string, string>][]) {
      const r = await s.req(m, `${link}${p}`, { headers: h, body: m === 'PUT' ? 'x' : undefined });
      expect(r.status, `${m} ${p}`).to.equal(403);
      expect(r.body).to.equal('Read-only access\n');
    }
    expect((await readdir(join(s.root, 'alice/docs'))).sort()).to.deep.equal(['notes.md', 'report.txt', 'sub']);
    expect(await readFile(join(s.root, 'alice/docs/report.txt'), 'utf8')).to.equal('REPORT');
  });

  it('downloads a folder link as a zip (the page\'s "Download all"), counted as one download', async () => {
    const unzip = requireProgram('unzip', 'unzip');
    const link = await share('--user', 'alice', '/docs', '--max-downloads', '2');
    const page = await s.req('GET', link, { headers: { Accept: 'text/html' } });
    expect(page.body).to.include('href="?download=zip"');
    const zip = await s.req('GET', `${link}?download=zip`);
    expect(zip.status).to.equal(200);
    expect(zip.headers['content-type']).to.equal('application/zip');
    await writeFile(join(s.dir, 'docs.zip'), zip.raw);
    const listing = await run(unzip, ['-Z1', join(s.dir, 'docs.zip')]);
    expect(listing.stdout.split('\n').filter((l) => l && !l.endsWith('/')).sort()).to.deep.equal(['notes.md', 'report.txt', 'sub/deep.txt']);
    expect((await run(unzip, ['-p', join(s.dir, 'docs.zip'), 'sub/deep.txt'])).stdout).to.equal('DEEP');
    expect((await s.req('GET', `${link}report.txt`)).status).to.equal(200);
    expect((await s.req('GET', `${link}?download=zip`)).status).to.equal(410);
    // A file link's zip holds that file alone.
    const file = await share('--user', 'alice', '/docs/report.txt');
    await writeFile(join(s.dir, 'one.zip'), (await s.req('GET', `${file}?download=zip`)).raw);
    expect((await run(unzip, ['-Z1', join(s.dir, 'one.zip')])).stdout.trim()).to.equal('report.txt');
  });

  it('a file link shows that file alone; its folder\'s other members do not exist for the visitor', async () => {
    const link = await share('--user', 'alice', '/docs/report.txt');
    expect(hrefsOf((await s.req('PROPFIND', link, { headers: { Depth: '1' } })).body)).to.deep.equal([link, `${link}report.txt`]);
    expect((await s.req('GET', `${link}report.txt`)).body).to.equal('REPORT');
    for (const p of ['notes.md', 'sub/deep.txt', 'sub/', 'nothing.txt']) {
      for (const m of ['GET', 'PROPFIND']) expect((await s.req(m, `${link}${p}`, { headers: { Depth: '0' } })).status, `${m} ${p}`).to.equal(404);
    }
    expect((await s.req('GET', link, { headers: { Accept: 'text/plain' } })).body).to.equal('report.txt\n');
  });

  it('rclone mounts the link as a read-only WebDAV root: lists and copies it, cannot write', async () => {
    const rclone = requireProgram('rclone', 'rclone');
    const link = await share('--user', 'alice', '/docs');
    const env = { ...process.env, RCLONE_CONFIG: join(s.dir, 'rclone.conf'), RCLONE_CONFIG_LINK_TYPE: 'webdav', RCLONE_CONFIG_LINK_URL: `${s.base}${link}` };
    const flags = ['--retries', '1', '--low-level-retries', '1'];
    const ls = await run(rclone, ['lsf', '-R', 'link:', ...flags], { env });
    expect(ls.code, ls.output).to.equal(0);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['notes.md', 'report.txt', 'sub/', 'sub/deep.txt']);
    const out = join(s.dir, 'copied');
    const cp = await run(rclone, ['copy', 'link:', out, ...flags], { env });
    expect(cp.code, cp.output).to.equal(0);
    expect(await readFile(join(out, 'sub/deep.txt'), 'utf8')).to.equal('DEEP');
    expect((await readdir(out)).sort()).to.deep.equal(['notes.md', 'report.txt', 'sub']);
    await writeFile(join(s.dir, 'up.txt'), 'upload');
    const up = await run(rclone, ['copyto', join(s.dir, 'up.txt'), 'link:up.txt', ...flags], { env });
    expect(up.code).to.not.equal(0);
    expect((await readdir(join(s.root, 'alice/docs'))).includes('up.txt')).to.equal(false);
  });

  it('a password-protected link asks for it (any user name), and rclone passes it', async () => {
    const rclone = requireProgram('rclone', 'rclone');
    const link = await share('--user', 'alice', '/docs', '--password', 'open sesame');
    const none = await s.req('GET', `${link}report.txt`);
    expect(none.status).to.equal(401);
    expect(none.headers['www-authenticate']).to.match(/^Basic realm="Shared link [A-Za-z0-9_-]{8}", charset="UTF-8"$/);
    expect((await s.req('GET', `${link}report.txt`, { headers: { Authorization: basic('x', 'wrong') } })).status).to.equal(401);
    expect((await s.req('GET', `${link}report.txt`, { headers: { Authorization: basic('anyone', 'open sesame') } })).body).to.equal('REPORT');
    // Alice's own password is not the link's.
    expect((await s.req('GET', `${link}report.txt`, { headers: { Authorization: basic('alice', 'a-pw') } })).status).to.equal(401);
    const obscured = (await run(rclone, ['obscure', 'open sesame'])).stdout.trim();
    const env = { ...process.env, RCLONE_CONFIG: join(s.dir, 'rclone.conf'), RCLONE_CONFIG_L_TYPE: 'webdav', RCLONE_CONFIG_L_URL: `${s.base}${link}`, RCLONE_CONFIG_L_USER: 'share', RCLONE_CONFIG_L_PASS: obscured };
    const cat = await run(rclone, ['cat', 'l:report.txt', '--retries', '1', '--low-level-retries', '1'], { env });
    expect(cat.code, cat.output).to.equal(0);
    expect(cat.stdout).to.equal('REPORT');
  });

  it('counts whole downloads against the limit (410 past it) and lists the count', async () => {
    const link = await share('--user', 'alice', '/docs', '--max-downloads', '2');
    expect((await s.req('HEAD', `${link}report.txt`)).status).to.equal(200);
    expect((await s.req('PROPFIND', link, { headers: { Depth: '1' } })).status).to.equal(207);
    expect((await s.req('GET', `${link}report.txt`, { headers: { Range: 'bytes=2-' } })).status).to.equal(206);
    expect((await s.req('GET', `${link}nothing.txt`)).status).to.equal(404);
    expect((await s.req('GET', `${link}report.txt`)).status).to.equal(200);
    expect((await s.req('GET', `${link}notes.md`)).status).to.equal(200);
    const third = await s.req('GET', `${link}report.txt`);
    expect(third.status).to.equal(410);
    expect(third.body).to.include('download limit');
    const list = await cli(['share', 'list', ...s.cliOptions]);
    expect(list.stdout.split('\n')[1]).to.match(/\/docs\s+read-folder\s+no\s+never\s+2\/2\s+0$/);
  });

  it('never reaches outside the shared path: traversal spellings, symlinks, hidden metadata', async () => {
    const link = await share('--user', 'alice', '/docs');
    const tries = ['../private.txt', '..%2fprivate.txt', '%2e%2e/private.txt', '%2E%2E%2Fprivate.txt', 'sub/../../private.txt', 'sub/%2e%2e/%2e%2e/private.txt', '..%5cprivate.txt', '%252e%252e/private.txt', '.%2e/.%2e/bob/secret.txt'];
    for (const t of tries) {
      const r = await s.req('GET', `${link}${t}`);
      expect(r.status, t).to.be.oneOf([400, 404]);
      expect(r.body, t).to.not.include('PRIVATE');
      expect(r.body, t).to.not.include('BOB');
    }
    // A symlink inside the shared folder that leads out of it (though inside alice's root).
    await symlink(join(s.root, 'alice/private.txt'), join(s.root, 'alice/docs/link.txt'));
    await symlink(join(s.root, 'bob'), join(s.root, 'alice/docs/bobdir'));
    expect((await s.req('GET', `${link}link.txt`)).status).to.equal(403);
    expect((await s.req('GET', `${link}bobdir/secret.txt`)).status).to.equal(403);
    expect(hrefsOf((await s.req('PROPFIND', link, { headers: { Depth: 'infinity' } })).body)).to.not.include(`${link}link.txt`);
    // A link to the whole tree never shows the metadata folder or the reserved segment.
    await mkdir(join(s.root, '.dav'), { recursive: true });
    const all = await share('--user', 'admin', '/');
    await s.as('admin', 'adm-pw')('PROPPATCH', '/alice/docs/report.txt', { 'Content-Type': 'application/xml' }, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>');
    const tree = hrefsOf((await s.req('PROPFIND', all, { headers: { Depth: 'infinity' } })).body);
    expect(tree).to.include(`${all}alice/docs/report.txt`);
    expect(tree.filter((h) => /\.davmeta|\/\.dav\/.*\.dav/.test(h.slice(all.length)))).to.deep.equal([]);
    for (const p of ['.davmeta/', '.davmeta/state/', '.DAVMETA/locks.json', '.dav/']) expect((await s.req('GET', `${all}${p}`)).status, p).to.equal(404);
    // Share records themselves cannot be reached through a link either.
    expect((await s.req('PROPFIND', `${all}.davmeta/state/share/`, { headers: { Depth: '1' } })).status).to.equal(404);
    // Nor can a link be made of hidden metadata or of something outside its owner's files.
    expect((await cli(['share', 'add', '--user', 'admin', '/.davmeta/state', ...s.cliOptions])).code).to.equal(1);
    const out = await cli(['share', 'add', '--user', 'alice', '/docs/bobdir', ...s.cliOptions]);
    expect(out.code).to.equal(1);
    expect(out.stderr).to.include('leads outside');
  });
});
