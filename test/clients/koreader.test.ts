/**
 * Light clients that read the multistatus with regular expressions instead of an XML parser.
 * KOReader: koreader/koreader plugins/cloudstorage.koplugin/providers/webdav.lua
 * (WebDavApi.listFolder sends `<a:propfind xmlns:a="DAV:"><a:prop><a:resourcetype/>
 * <a:getcontentlength/><a:getlastmodified/></a:prop></a:propfind>` with Depth: 1 to a URL
 * ending in '/', then matches the Lua patterns below). The patterns are used here as KOReader
 * writes them, translated one to one into JavaScript regular expressions (Lua `.-` is `*?`,
 * `%s` is `\s`, `%d` is `\d`). The shape they depend on is the one every entry keeps: prefixed
 * `D:` elements, `<D:resourcetype/>` self-closing for files, `<D:collection/>` for folders,
 * collection hrefs ending in '/', one href per response, numbers without spaces.
 */
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';

// `<[^:]*:response[^>]*>(.-)</[^:]*:response>`
const RESPONSE = /<[^:]*:response[^>]*>([\s\S]*?)<\/[^:]*:response>/g;
// `<[^:]*:href[^>]*>(.*)</[^:]*:href>` (greedy: relies on one href per response)
const HREF = /<[^:]*:href[^>]*>(.*)<\/[^:]*:href>/;
// `<[^:]*:resourcetype%s*/>` or `<[^:]*:resourcetype>%s*</[^:]*:resourcetype>`
const NOT_COLLECTION = [/<[^:]*:resourcetype\s*\/>/, /<[^:]*:resourcetype>\s*<\/[^:]*:resourcetype>/];
// `<[^:]*:collection[^<]*/>` or `<[^:]*:collection>%s*</[^:]*:collection>`
const COLLECTION = [/<[^:]*:collection[^<]*\/>/, /<[^:]*:collection>\s*<\/[^:]*:collection>/];
// `<[^:]*:getcontentlength[^>]*>(%d+)</[^:]*:getcontentlength>`
const LENGTH = /<[^:]*:getcontentlength[^>]*>(\d+)<\/[^:]*:getcontentlength>/;
// `<[^:]*:getlastmodified[^>]*>(.*)</[^:]*:getlastmodified>`
const MODIFIED = /<[^:]*:getlastmodified[^>]*>(.*)<\/[^:]*:getlastmodified>/;

const BODY = '<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><a:resourcetype/><a:getcontentlength/><a:getlastmodified/></a:prop></a:propfind>';

interface Item {
  name: string;
  folder: boolean;
  size?: number;
  modified?: string;
}

/** WebDavApi.listFolder's parsing, step for step. */
function koreaderList(xml: string, requestPath: string): Item[] {
  const current = decodeURIComponent(requestPath).replace(/^\/+|\/+$/g, '');
  const out: Item[] = [];
  for (const m of xml.matchAll(RESPONSE)) {
    const item = m[1]!;
    const full = decodeURIComponent(HREF.exec(item)![1]!);
    // util.htmlEntitiesToUtf8 on the name
    const name = full.replace(/\/+$/, '').split('/').pop()!.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
    if (NOT_COLLECTION.some((re) => re.test(item))) {
      out.push({ name, folder: false, size: Number(LENGTH.exec(item)?.[1]), modified: MODIFIED.exec(item)?.[1] });
    } else if (COLLECTION.some((re) => re.test(item))) {
      if (full.replace(/^\/+|\/+$/g, '') !== current) out.push({ name: name + '/', folder: true });
    }
  }
  return out;
}

describe('clients: KOReader and other regex-parsing clients', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ lockStore: 'memory' });
    await mkdir(join(s.root, 'Books', 'Sci-Fi & Fantasy'), { recursive: true });
    await writeFile(join(s.root, 'Books', 'Dune (1965).epub'), Buffer.alloc(12345, 1));
    await writeFile(join(s.root, 'Books', 'empty.pdf'), '');
    await writeFile(join(s.root, 'Books', 'Émile <ou> de l’éducation.epub'), 'x');
  });
  after(() => s.close());

  it('listFolder finds every file with size and date, every folder, and skips the folder itself', async () => {
    const r = await s.req('PROPFIND', '/Books/', { headers: { Depth: '1', 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(BODY) }, body: BODY });
    expect(r.status).to.equal(207);
    const items = koreaderList(r.body, '/Books/').sort((a, b) => a.name.localeCompare(b.name));
    expect(items.map((i) => i.name)).to.deep.equal(['Dune (1965).epub', 'empty.pdf', 'Sci-Fi & Fantasy/', 'Émile <ou> de l’éducation.epub'].sort((a, b) => a.localeCompare(b)));
    const dune = items.find((i) => i.name === 'Dune (1965).epub')!;
    expect(dune.size).to.equal(12345);
    expect(Number.isNaN(Date.parse(dune.modified!))).to.equal(false);
    expect(items.find((i) => i.name === 'empty.pdf')!.size).to.equal(0);
  });

  it('keeps the exact shape those patterns need', async () => {
    const r = await s.req('PROPFIND', '/Books/', { headers: { Depth: '1' }, body: BODY });
    // Prefixed DAV: elements, one declaration on the root.
    expect(r.body).to.match(/^<\?xml version="1\.0" encoding="utf-8"\?>\s*<D:multistatus xmlns:D="DAV:"/);
    expect(r.body).to.not.match(/<(response|href|propstat|prop|status)[\s>]/);
    // Files: a self-closing empty resourcetype; folders: a self-closing collection.
    expect(r.body).to.include('<D:href>/Books/empty.pdf</D:href><D:propstat><D:prop><D:resourcetype/>');
    expect(r.body).to.include('<D:resourcetype><D:collection/></D:resourcetype>');
    // Collection hrefs end in '/', the folder itself first.
    expect(r.body).to.include('<D:response><D:href>/Books/</D:href>');
    expect(r.body).to.include('<D:href>/Books/Sci-Fi%20&amp;%20Fantasy/</D:href>');
    // One href per response (KOReader's href pattern is greedy).
    for (const m of r.body.matchAll(RESPONSE)) expect(m[1]!.match(/<D:href>/g)!.length).to.equal(1);
    // Numbers and dates without surrounding whitespace; a folder's length is a 404 propstat.
    expect(r.body).to.include('<D:getcontentlength>12345</D:getcontentlength>');
    expect(r.body).to.match(/<D:getlastmodified>[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT<\/D:getlastmodified>/);
  });

  it('a URL without the trailing slash lists the same items', async () => {
    const r = await s.req('PROPFIND', '/Books', { headers: { Depth: '1' }, body: BODY });
    expect(koreaderList(r.body, '/Books').length).to.equal(4);
  });
});
