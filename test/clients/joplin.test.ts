/**
 * Joplin's WebDAV sync target, replayed from laurent22/joplin packages/lib/WebDavApi.js (every
 * request carries `Cache-Control: no-store`, non-GET/HEAD requests a random
 * `If-None-Match: JoplinIgnore-N`; PROPFIND bodies from execPropFind with `d:` prefixes),
 * packages/lib/file-api-driver-webdav.js (stat = PROPFIND Depth 0, 404 means "missing";
 * list = PROPFIND Depth 1 on `path/`, hrefs turned into paths with hrefToRelativePath_;
 * mkdir = MKCOL `path/`, 405 means "exists"; delete ignores 404 only; move = MOVE with
 * `Destination: baseUrl/newPath`, Overwrite: T) and services/synchronizer/LockHandler.ts
 * (lock files `locks/<type>_<clientType>_<clientId>.json`).
 */
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { parseMultistatus } from '../helpers/replay.js';

const propfindBody = (fields: string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>
			<d:propfind xmlns:d="DAV:">
				<d:prop xmlns:oc="http://owncloud.org/ns">
					${fields.map((f) => `<${f}/>`).join('')}
				</d:prop>
			</d:propfind>`;

describe('clients: Joplin', () => {
  let s: TestServer;
  const baseUrl = (): string => `${s.base}/dav/joplin`;
  const relativeBaseUrl = '/dav/joplin';
  /** WebDavApi.exec: URL = baseUrl + '/' + path without leading slashes, Joplin's headers. */
  const exec = (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { 'Cache-Control': 'no-store', 'User-Agent': 'Joplin/1.0', ...headers };
    if (method === 'PROPFIND') h['Content-Type'] = 'text/xml';
    if (method === 'PUT') h['Content-Type'] = 'text/plain';
    if (!['GET', 'HEAD'].includes(method)) h['If-None-Match'] = `JoplinIgnore-${Math.floor(Math.random() * 100000)}`;
    return s.req(method, `/dav/joplin/${path.replace(/^\/+/, '')}`, { headers: h, body });
  };
  /** file-api-driver-webdav.js hrefToRelativePath_ */
  const hrefToRelativePath = (href: string): string => {
    let out: string;
    if (href.indexOf(baseUrl()) === 0) out = href.substr(baseUrl().length);
    else if (href.indexOf(relativeBaseUrl) === 0) out = href.substr(relativeBaseUrl.length);
    else throw new Error(`href ${href} not in baseUrl`);
    return out.replace(/^\/+/, '').replace(/\/+$/, '');
  };
  const list = async (path: string): Promise<string[]> => {
    const r = await exec('PROPFIND', path.endsWith('/') ? path : `${path}/`, propfindBody(['d:getlastmodified', 'd:resourcetype']), { Depth: '1' });
    expect(r.status, r.body).to.equal(207);
    return [...parseMultistatus(r.body).keys()]
      .map((h) => {
        expect(h, 'no // in hrefs').to.not.include('//');
        return hrefToRelativePath(h);
      })
      .filter((p) => p !== '' && p !== path);
  };

  before(async () => (s = await startTestServer({ lockStore: 'memory', prefix: '/dav' })));
  after(() => s.close());

  it('checkConfig on a missing folder is 404 (never 405/500); after MKCOL it is a collection', async () => {
    const missing = await exec('PROPFIND', '', propfindBody(['d:getlastmodified', 'd:resourcetype']), { Depth: '0' });
    expect(missing.status).to.equal(404);
    expect((await s.req('MKCOL', '/dav/joplin/')).status).to.equal(201);
    const r = await exec('PROPFIND', '', propfindBody(['d:getlastmodified', 'd:resourcetype']), { Depth: '0' });
    expect(r.status).to.equal(207);
    const root = parseMultistatus(r.body).get('/dav/joplin/')!;
    expect(root.props.get('{DAV:}resourcetype')!.el.children.length).to.equal(1);
    // The "nginx hack": a single response whose propstats are all 404 would mean "missing".
    expect([...root.props.values()].some((p) => p.status === 200)).to.equal(true);
  });

  it('sync: mkdir (405 when it exists), lock files, info.json, listing, get/delete of missing items, move', async () => {
    for (const d of ['locks', '.resource', 'temp']) {
      expect((await exec('MKCOL', `${d}/`)).status, d).to.equal(201);
      expect((await exec('MKCOL', `${d}/`)).status, d).to.equal(405);
    }
    const lock = JSON.stringify({ type: 1, clientType: 1, clientId: 'abc123', updatedTime: Date.now() });
    expect((await exec('PUT', 'locks/1_1_abc123.json', lock)).status).to.equal(201);
    expect(await list('locks')).to.deep.equal(['locks/1_1_abc123.json']);
    expect((await exec('PUT', 'info.json', '{"version":3}')).status).to.equal(201);
    expect((await exec('PUT', 'info.json', '{"version":3,"e2ee":{"value":false}}')).status).to.equal(204);
    expect((await exec('PUT', 'ef0123.md', 'note body')).status).to.equal(201);
    const root = await list('');
    expect(root.sort()).to.deep.equal(['.resource', 'ef0123.md', 'info.json', 'locks', 'temp']);

    // Missing items: GET, PROPFIND and DELETE all say 404.
    expect((await exec('GET', 'nothere.md')).status).to.equal(404);
    expect((await exec('PROPFIND', 'nothere.md', propfindBody(['d:getlastmodified', 'd:resourcetype']), { Depth: '0' })).status).to.equal(404);
    expect((await exec('PROPFIND', 'nodir/', propfindBody(['d:getlastmodified', 'd:resourcetype']), { Depth: '1' })).status).to.equal(404);
    expect((await exec('DELETE', 'nothere.md')).status).to.equal(404);

    // move: Destination = baseUrl + '/' + newPath
    expect((await exec('MOVE', 'ef0123.md', undefined, { Destination: `${baseUrl()}/temp/ef0123.md`, Overwrite: 'T' })).status).to.equal(201);
    expect((await exec('GET', 'temp/ef0123.md')).body).to.equal('note body');
    expect((await exec('DELETE', 'locks/1_1_abc123.json')).status).to.equal(204);
    expect(await list('locks')).to.deep.equal([]);
  });

  it('a base URL typed with doubled slashes still gets hrefs without //', async () => {
    const r = await s.req('PROPFIND', '/dav//joplin//locks/', { headers: { Depth: '1', 'Content-Type': 'text/xml' }, body: propfindBody(['d:resourcetype']) });
    expect(r.status).to.equal(207);
    for (const h of parseMultistatus(r.body).keys()) expect(h).to.not.include('//');
  });
});
