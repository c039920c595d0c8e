/** CORS (--cors-origin): preflights answered before authentication, DAV headers exposed, credentials allowed. */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { resolveOptions, ConfigError } from '../../src/config.js';

describe('CORS', () => {
  let dir: string;
  let srv: TestServer;
  const APP = 'https://app.example.com';

  before(async () => {
    dir = await makeTempDir('cors');
    const htpasswd = await writeHtpasswd(dir, { alice: 'pw' });
    srv = await startTestServer({ htpasswd, corsOrigin: `${APP}, http://localhost:3000` });
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a preflight from an allowed origin without credentials', async () => {
    const r = await srv.req('OPTIONS', '/docs/', {
      headers: { Origin: APP, 'Access-Control-Request-Method': 'PROPFIND', 'Access-Control-Request-Headers': 'authorization, depth, content-type' },
    });
    expect(r.status).to.equal(204);
    expect(r.headers['access-control-allow-origin']).to.equal(APP);
    expect(r.headers['access-control-allow-credentials']).to.equal('true');
    expect(r.headers['access-control-allow-methods']).to.include('PROPFIND').and.include('LOCK').and.include('MOVE');
    expect(r.headers['access-control-allow-headers']).to.equal('authorization, depth, content-type');
    expect(r.headers.vary).to.include('Origin');
  });

  it('gives no CORS headers to an origin that is not listed', async () => {
    const r = await srv.req('OPTIONS', '/', { headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' } });
    expect(r.headers['access-control-allow-origin']).to.equal(undefined);
    const g = await srv.req('PROPFIND', '/', { headers: { Origin: 'https://evil.example', Depth: '0', Authorization: basic('alice', 'pw') } });
    expect(g.headers['access-control-allow-origin']).to.equal(undefined);
  });

  it('exposes the DAV headers on real requests, and on the 401 a browser must be able to read', async () => {
    const r = await srv.req('PUT', '/a.txt', { headers: { Origin: APP, Authorization: basic('alice', 'pw') }, body: 'x' });
    expect(r.status).to.equal(201);
    expect(r.headers['access-control-allow-origin']).to.equal(APP);
    const exposed = String(r.headers['access-control-expose-headers']);
    for (const h of ['DAV', 'ETag', 'Lock-Token', 'Location']) expect(exposed).to.include(h);
    const denied = await srv.req('PROPFIND', '/', { headers: { Origin: APP, Depth: '0' } });
    expect(denied.status).to.equal(401);
    expect(denied.headers['access-control-allow-origin']).to.equal(APP);
  });

  it('validates --cors-origin', () => {
    expect(() => resolveOptions({ corsOrigin: 'https://a.example/path' })).to.throw(ConfigError);
    expect(() => resolveOptions({ corsOrigin: 'not a url' })).to.throw(ConfigError);
    expect(() => resolveOptions({ corsOrigin: '*, https://a.example' })).to.not.throw();
  });

  it('with *, answers any origin but never with credentials', async () => {
    const any = await startTestServer({ corsOrigin: '*' });
    try {
      const r = await any.req('OPTIONS', '/', { headers: { Origin: 'https://x.example', 'Access-Control-Request-Method': 'GET' } });
      expect(r.headers['access-control-allow-origin']).to.equal('*');
      expect(r.headers['access-control-allow-credentials']).to.equal(undefined);
    } finally {
      await any.close();
    }
  });
});
