/**
 * cadaver, the command-line WebDAV client (neon), driven for real: a scripted session read from
 * stdin covering mkcol, put, get, copy, move, propset/propget, lock/unlock, delete.
 */
import { expect } from 'chai';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { parseMultistatus } from '../helpers/replay.js';
import { requireProgram, run } from '../helpers/run.js';
import { rm } from 'node:fs/promises';

const CADAVER_NS = 'http://webdav.org/cadaver/custom-properties/';

describe('clients: cadaver (real client)', function () {
  this.timeout(60_000);
  let s: TestServer;
  let work: string;
  let cadaver: string;
  before(() => (cadaver = requireProgram('cadaver', 'cadaver')));
  beforeEach(async () => {
    s = await startTestServer();
    work = await makeTempDir('cadaver');
  });
  afterEach(async () => {
    await s.close();
    await rm(work, { recursive: true, force: true });
  });

  const session = (lines: string[]) => run(cadaver, [`${s.base}/`], { input: lines.join('\n') + '\nquit\n', env: { ...process.env, HOME: work }, timeoutMs: 30_000 });

  it('runs a scripted session: every step succeeds and the disk and properties agree', async () => {
    const local = join(work, 'local report.txt');
    const content = 'cadaver was here\n'.repeat(1000);
    await writeFile(local, content);
    const r = await session([
      'mkcol "Team Docs"',
      'cd "Team Docs"',
      `put "${local}" report.txt`,
      `get report.txt "${join(work, 'back.txt')}"`,
      'copy report.txt copy.txt',
      'move copy.txt renamed.txt',
      'propset report.txt status reviewed',
      'propget report.txt status',
      'lock report.txt',
      `put "${local}" report.txt`,
      'unlock report.txt',
      'delete renamed.txt',
      'ls',
    ]);
    const out = r.output;
    expect(r.code, out).to.equal(0);
    expect(out).to.match(/Creating `Team Docs': succeeded/);
    expect(out).to.match(/Uploading .* to `\/Team(?:%20| )Docs\/report.txt':.*succeeded/);
    expect(out).to.match(/Downloading `\/Team(?:%20| )Docs\/report.txt' to .*succeeded/);
    expect(out).to.match(/Copying `\/Team(?:%20| )Docs\/report.txt' to `\/Team(?:%20| )Docs\/copy.txt':\s+succeeded/);
    expect(out).to.match(/Moving `\/Team(?:%20| )Docs\/copy.txt' to `\/Team(?:%20| )Docs\/renamed.txt':\s+succeeded/);
    expect(out).to.match(/Setting property on `report.txt': succeeded/);
    expect(out).to.match(/Value of status is: reviewed/);
    expect(out).to.match(/Locking `report.txt': succeeded/);
    expect(out).to.match(/Unlocking `report.txt': succeeded/);
    expect(out).to.match(/Deleting `renamed.txt': succeeded/);
    expect(out).not.to.match(/failed/i);

    expect(await readFile(join(work, 'back.txt'), 'utf8')).to.equal(content);
    expect(await readFile(join(s.root, 'Team Docs', 'report.txt'), 'utf8')).to.equal(content);
    expect((await readdir(join(s.root, 'Team Docs'))).sort()).to.deep.equal(['report.txt']);
    const pf = await s.req('PROPFIND', '/Team%20Docs/report.txt', {
      headers: { Depth: '0' },
      body: `<D:propfind xmlns:D="DAV:"><D:prop><c:status xmlns:c="${CADAVER_NS}"/><D:lockdiscovery/></D:prop></D:propfind>`,
    });
    const props = parseMultistatus(pf.body).get('/Team%20Docs/report.txt')!.props;
    expect(props.get(`{${CADAVER_NS}}status`)?.text).to.equal('reviewed');
    expect(props.get('{DAV:}lockdiscovery')?.el.children.length, 'unlock released the lock').to.equal(0);
  });

  it('reports the lock held by another client and leaves the file alone', async () => {
    await writeFile(join(s.root, 'held.txt'), 'original');
    const lk = await s.req('LOCK', '/held.txt', { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>someone else</D:owner></D:lockinfo>' });
    expect(lk.status).to.equal(200);
    const local = join(work, 'new.txt');
    await writeFile(local, 'overwrite attempt');
    const r = await session([`put "${local}" held.txt`, 'delete held.txt', 'discover held.txt']);
    expect(r.output).to.match(/Uploading .*held.txt.*failed/s);
    expect(r.output).to.match(/423 Locked/);
    expect(r.output).to.match(/Deleting `held.txt': failed/);
    expect(r.output).to.match(/Owner: someone else/);
    expect(await readFile(join(s.root, 'held.txt'), 'utf8')).to.equal('original');
  });
});
