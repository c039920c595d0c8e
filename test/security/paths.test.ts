/**
 * Path traversal in every encoding, in the Request-URI and in the Destination header: each is
 * refused with 400/403/404 (409 only where the decoded path is inside the root and its parent
 * is missing), nothing outside the root is read or written, and the server keeps serving.
 */
import { expect } from 'chai';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CANARY_TEXT, guardedServer, raw, rawRequest } from './helpers.js';

const URL_ATTACKS = [
  '/../canary.txt',
  '/../../canary.txt',
  '/%2e%2e/canary.txt',
  '/%2E%2E/canary.txt',
  '/.%2e/canary.txt',
  '/%2e./canary.txt',
  '/%2e%2e%2fcanary.txt',
  '/..%2fcanary.txt',
  '/..%2Fcanary.txt',
  '/..%5ccanary.txt',
  '/..\\canary.txt',
  '/%5c..%5ccanary.txt',
  '/%c0%ae%c0%ae/canary.txt',
  '/%c0%ae%c0%ae%c0%afcanary.txt',
  '/%e0%80%ae%e0%80%ae/canary.txt',
  '/%c0%2e%c0%2e/canary.txt',
  '/%252e%252e/canary.txt',
  '/canary.txt%00',
  '/%00/../canary.txt',
  '/sub/..%00/canary.txt',
  '/./../canary.txt',
  '//../canary.txt',
  '/sub/../../canary.txt',
  '/sub/%2e%2e/%2e%2e/canary.txt',
  '/sub/..%2f..%2fcanary.txt',
  '/%u002e%u002e/canary.txt',
  '/..;/canary.txt', // a literal name "..;" inside the root (parent missing: 409)
];

describe('security: path traversal', function () {
  this.timeout(60_000);
  const g = guardedServer('paths', async (f) => {
    await mkdir(join(f.root, 'sub'));
    await writeFile(join(f.root, 'inside.txt'), 'inside');
  });

  for (const method of ['GET', 'HEAD', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'PROPPATCH', 'LOCK']) {
    it(`${method}: every encoding of ".." in the Request-URI is refused`, async () => {
      for (const p of URL_ATTACKS) {
        const body =
          method === 'PUT'
            ? 'PWNED'
            : method === 'PROPPATCH'
              ? '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>'
              : method === 'LOCK'
                ? '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'
                : '';
        const r = await raw(g.port, rawRequest(method, p, { Depth: '0' }, body));
        expect(r.status, `${method} ${p}`).to.be.oneOf(p.includes('%25') || p.includes(';') ? [400, 403, 404, 409] : [400, 403, 404]);
        expect(r.text, `${method} ${p}`).to.not.include(CANARY_TEXT);
      }
      const names = (await readdir(g.f.root)).filter((n) => n !== '.davmeta').sort();
      expect(names).to.deep.equal(['inside.txt', 'sub']);
    });
  }

  it('decodes exactly once: a double-encoded "../" is a literal name inside the root', async () => {
    const r = await raw(g.port, rawRequest('PUT', '/%252e%252e%252fcanary.txt', {}, 'inside after all'));
    expect(r.status).to.equal(201);
    expect(await readdir(g.f.root)).to.include('%2e%2e%2fcanary.txt');
    expect((await raw(g.port, rawRequest('DELETE', '/%252e%252e%252fcanary.txt'))).status).to.equal(204);
  });

  const DEST_ATTACKS = [
    '/../canary.txt',
    '/%2e%2e/canary.txt',
    '/..%2fcanary.txt',
    '/..%5ccanary.txt',
    '/%c0%ae%c0%ae/canary.txt',
    '/%c0%ae%c0%ae%c0%afcanary.txt',
    '/canary.txt%00',
    '/sub/../../canary.txt',
    '/sub/%2e%2e/%2e%2e/canary.txt',
    'http://HOST/../canary.txt',
    'http://HOST/%2e%2e/canary.txt',
    'http://HOST/sub/..%2f..%2fcanary.txt',
    'http://HOST/..%5c..%5ccanary.txt',
    'http://evil.example/../canary.txt',
    'file:///CANARY',
    '../canary.txt',
    'canary.txt',
  ];

  for (const method of ['COPY', 'MOVE']) {
    it(`${method}: every traversal in the Destination header is refused`, async () => {
      for (const d of DEST_ATTACKS) {
        const dest = d.replace('HOST', `127.0.0.1:${g.port}`).replace('CANARY', g.f.canary);
        const r = await raw(g.port, rawRequest(method, '/inside.txt', { Destination: dest, Overwrite: 'T' }));
        expect(r.status, `${method} -> ${dest}`).to.be.oneOf([400, 403, 404, 502]);
      }
      expect((await readdir(g.f.root)).filter((n) => n !== '.davmeta').sort()).to.deep.equal(['inside.txt', 'sub']);
    });
  }
});
