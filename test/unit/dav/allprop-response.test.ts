/** The one-template allprop response equals what the general PROPFIND path builds property by property. */
import { expect } from 'chai';
import { ALLPROP_LIVE, allpropResponse, simpleLiveProp } from '../../../src/dav/live-props.js';
import { propstatResponse } from '../../../src/xml/multistatus.js';
import type { ResourceInfo } from '../../../src/storage/backend.js';

const general = (href: string, info: ResourceInfo, name: string): string =>
  propstatResponse(href, [{ status: 200, props: ALLPROP_LIVE.map((l) => (l === 'lockdiscovery' ? '<D:lockdiscovery/>' : simpleLiveProp(l, info, name))).filter((x): x is string => x !== undefined) }]);

const info = (o: Partial<ResourceInfo>): ResourceInfo => ({ isCollection: false, size: 1234, mtimeMs: 1_700_000_000_123, birthtimeMs: 1_600_000_000_999, etag: '"a-b-c-d"', ...o });

describe('allpropResponse', () => {
  const cases: [string, ResourceInfo, string][] = [
    ['/a/file.txt', info({}), 'file.txt'],
    ['/a/data.json', info({ size: 0 }), 'data.json'],
    ['/a/no-extension', info({ size: 5 }), 'no-extension'],
    ['/a/dir/', info({ isCollection: true, size: 0 }), 'dir'],
    ['/', info({ isCollection: true, size: 0 }), ''],
    ['/a/x%26y%3C.bin', info({ etag: '"&<"' }), 'x&y<.bin'],
    ['/caf%C3%A9/%E2%82%AC.html', info({ mtimeMs: 0, birthtimeMs: 0 }), '\u20ac.html'],
  ];
  for (const [href, i, name] of cases) it(`${href}`, () => expect(allpropResponse(href, i, name)).to.equal(general(href, i, name)));
});
