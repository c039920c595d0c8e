/**
 * `--storage memory`: the second StorageBackend behind the same methods, write spine and side
 * data. litmus passes over it unchanged, and it behaves like the filesystem backend for the
 * things a client notices (properties follow MOVE, locks stay behind, nothing on disk).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, startTestServer, type TestServer } from '../helpers/server.js';
import { lockOk, mkcolOk, putOk } from '../helpers/dav.js';

describe('--storage memory', function () {
  this.timeout(300_000);

  it('passes litmus (basic, copymove, props, locks, http) with no failure or warning', async () => {
    const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const p = spawn(process.execPath, [join(repoRoot, 'scripts', 'litmus.mjs'), '--suites', 'basic copymove props locks http', '--', '--storage', 'memory'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      p.stdout.on('data', (d) => (output += d));
      p.stderr.on('data', (d) => (output += d));
      p.once('exit', (code) => resolve({ code, output }));
    });
    expect(out.code, out.output).to.equal(0);
    expect(out.output).to.match(/failed 0; warnings 0; skipped 0$/m);
  });

  describe('over HTTP', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ storage: 'memory' });
    });
    after(() => s.close());

    it('serves a tree that never touches the disk; properties follow MOVE, locks stay behind', async () => {
      await mkcolOk(s, '/a');
      await putOk(s, '/a/f.txt', 'hello');
      expect((await s.req('PROPPATCH', '/a/f.txt', { body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' })).status).to.equal(207);
      const { token } = await lockOk(s, '/a/f.txt');
      expect((await s.req('MOVE', '/a', { headers: { Destination: '/b', If: `</a/f.txt> (<${token}>)` } })).status).to.equal(201);
      const pf = await s.req('PROPFIND', '/b/f.txt', { headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><x xmlns="urn:x"/><D:lockdiscovery/></D:prop></D:propfind>' });
      expect(pf.body, pf.body).to.match(/<([A-Za-z0-9]+:)?x[^>]*>1<\/([A-Za-z0-9]+:)?x>/);
      expect(pf.body).to.not.include(token);
      expect((await s.req('GET', '/b/f.txt')).body).to.equal('hello');
      expect((await readdir(s.root)).filter((n) => n !== '.davmeta')).to.deep.equal([]);
    });
  });
});
