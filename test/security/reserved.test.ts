/**
 * The server's own areas stay its own in any letter case (a case-insensitive filesystem maps
 * `/.DAVMETA` to the metadata folder, where lock tokens live), and a users file cannot give
 * anyone a root inside them: refused at start-up with a clear message.
 */
import { expect } from 'chai';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, runCli } from '../helpers/server.js';
import { ensureBuilt } from '../helpers/dav.js';
import { writeHtpasswd } from '../helpers/auth.js';
import { guardedServer } from './helpers.js';

describe('security: reserved areas in any letter case', function () {
  this.timeout(30_000);
  const g = guardedServer('reserved', async (f) => {
    await writeFile(join(f.root, 'a.txt'), 'A');
  });

  it('refuses to create or reach the metadata folder or temp names spelt in other cases', async () => {
    // Make sure the metadata folder exists (a lock is stored in it).
    expect((await g.srv.req('LOCK', '/a.txt', { body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' })).status).to.equal(200);
    for (const p of ['/.DAVMETA', '/.DavMeta/locks.json', '/.DAVMETA/state']) {
      for (const method of ['PUT', 'MKCOL', 'DELETE', 'PROPPATCH']) {
        expect((await g.srv.req(method, p, { body: method === 'PUT' ? 'x' : undefined })).status, `${method} ${p}`).to.equal(403);
      }
      for (const method of ['GET', 'PROPFIND']) expect((await g.srv.req(method, p, { headers: { Depth: '0' } })).status, `${method} ${p}`).to.equal(404);
      for (const method of ['COPY', 'MOVE']) expect((await g.srv.req(method, '/a.txt', { headers: { Destination: p } })).status, `${method} -> ${p}`).to.equal(403);
    }
    expect((await readdir(g.f.root)).sort()).to.deep.equal(['.davmeta', 'a.txt']);
  });
});

describe('security: users file roots in reserved areas', function () {
  this.timeout(60_000);
  let dir: string;
  let root: string;
  let htpasswd: string;

  before(async () => {
    await ensureBuilt();
    dir = await makeTempDir('users-reserved');
    root = join(dir, 'root');
    await mkdir(join(root, '.davmeta'), { recursive: true });
    htpasswd = await writeHtpasswd(dir, { alice: 'pw' });
    await symlink('.davmeta', join(root, 'sneaky'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const start = async (userRoot: string): Promise<{ code: number | null; output: string }> => {
    const users = join(dir, 'users.yaml');
    await writeFile(users, `users:\n  alice: { root: "${userRoot}", access: rw }\n`);
    return runCli(['--root', root, '--port', '0', '--htpasswd', htpasswd, '--users', users]);
  };

  it('refuses a root inside .davmeta, temp names or the reserved URL segment, in any case, with a clear message', async () => {
    for (const userRoot of ['/.davmeta', '/.davmeta/props', '/.DAVMETA', '/.DavMeta/x', '/.~davtmp-1', '/.dav', '/.DAV/x']) {
      const { code, output } = await start(userRoot);
      expect(code, `${userRoot}: ${output}`).to.equal(1);
      expect(output).to.include(`cannot start: user alice: root ${userRoot} is a reserved name`);
    }
  });

  it('refuses a root that leads into .davmeta through a symlink', async () => {
    for (const userRoot of ['/sneaky', '/sneaky/props']) {
      const { code, output } = await start(userRoot);
      expect(code, `${userRoot}: ${output}`).to.equal(1);
      // The symlink's target is reserved: as far as users are concerned, it is not in the served tree.
      expect(output).to.include(`cannot start: user alice: root ${userRoot} leads outside the served directory`);
    }
  });
});
