/**
 * Hostile XML bodies: DTDs and entities (XXE, billion laughs, quadratic blow-up, entity floods),
 * deep nesting, oversized bodies. Each is refused (400 / 413) against a child server whose
 * resident memory must stay bounded, the canary beside the root is never read, and the
 * server keeps serving.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request, spawnCli, type CliServer } from '../helpers/server.js';
import { CANARY_TEXT, guardedServer, makeFortress, median, raw, rawRequest, rssOf, type Fortress } from './helpers.js';

const lol = (levels: number): string => {
  let dtd = '<!ENTITY lol0 "lol">';
  for (let i = 1; i <= levels; i++) dtd += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
  return dtd;
};

const propfind = (inner: string, doctype = ''): string => `<?xml version="1.0"?>${doctype}<D:propfind xmlns:D="DAV:"><D:prop>${inner}</D:prop></D:propfind>`;

/** Bodies that must be refused with 400; `canary` is substituted with the canary's path. */
function hostileBodies(canary: string): Record<string, string> {
  return {
    'XXE file entity': propfind('<D:displayname>&xxe;</D:displayname>', `<!DOCTYPE D:propfind [<!ENTITY xxe SYSTEM "file://${canary}">]>`),
    'XXE external DTD': propfind('<D:displayname/>', '<!DOCTYPE D:propfind SYSTEM "http://127.0.0.1:9/evil.dtd">'),
    'XXE parameter entity': propfind('<D:displayname/>', `<!DOCTYPE D:propfind [<!ENTITY % p SYSTEM "file://${canary}"> %p;]>`),
    'lower-case doctype': propfind('<D:displayname/>', '<!doctype D:propfind [<!ENTITY a "b">]>'),
    'billion laughs': propfind('<D:displayname>&lol9;</D:displayname>', `<!DOCTYPE D:propfind [${lol(9)}]>`),
    'quadratic blow-up': propfind(`<D:displayname>${'&big;'.repeat(20000)}</D:displayname>`, `<!DOCTYPE D:propfind [<!ENTITY big "${'x'.repeat(50000)}">]>`),
    'numeric entity flood in a DTD': propfind('<D:displayname>&n5;</D:displayname>', `<!DOCTYPE D:propfind [<!ENTITY n0 "${'&#38;#65;'.repeat(1000)}"><!ENTITY n1 "&n0;&n0;&n0;&n0;&n0;&n0;&n0;&n0;&n0;&n0;"><!ENTITY n2 "&n1;&n1;&n1;&n1;&n1;&n1;&n1;&n1;&n1;&n1;"><!ENTITY n3 "&n2;&n2;&n2;&n2;&n2;&n2;&n2;&n2;&n2;&n2;"><!ENTITY n4 "&n3;&n3;&n3;&n3;&n3;&n3;&n3;&n3;&n3;&n3;"><!ENTITY n5 "&n4;&n4;&n4;&n4;&n4;&n4;&n4;&n4;&n4;&n4;">]>`),
    'undefined entity flood': propfind(`<D:displayname>${'&lol;'.repeat(100000)}</D:displayname>`),
    'entity declaration without doctype': propfind('<!ENTITY a "b"><D:displayname>&a;</D:displayname>'),
    'deep nesting (50k levels)': `<?xml version="1.0"?><D:propfind xmlns:D="DAV:">${'<D:prop>'.repeat(50000)}${'</D:prop>'.repeat(50000)}</D:propfind>`,
    'deep nesting, never closed': `<?xml version="1.0"?>${'<a>'.repeat(300000)}`,
    'UTF-16 with a DTD': '\ufeff' + propfind('<D:displayname>&xxe;</D:displayname>', `<!DOCTYPE D:propfind [<!ENTITY xxe SYSTEM "file://${canary}">]>`),
    'not well-formed': '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop></D:propfind>',
    'out-of-range character reference': propfind('<D:displayname>&#x110000;&#0;</D:displayname>'),
  };
}

describe('security: hostile XML', function () {
  this.timeout(120_000);
  const g = guardedServer('xml', async (f) => {
    await writeFile(join(f.root, 'file.txt'), 'x');
  });

  it('refuses DTDs, entities, deep nesting and malformed bodies with 400 in PROPFIND, PROPPATCH and LOCK', async () => {
    for (const [name, body] of Object.entries(hostileBodies(g.f.canary))) {
      for (const method of ['PROPFIND', 'PROPPATCH', 'LOCK']) {
        const enc = name.startsWith('UTF-16') ? Buffer.from(body, 'utf16le') : body;
        const r = await request(g.srv.base, method, '/file.txt', { headers: { Depth: '0', 'Content-Type': 'application/xml' }, body: enc });
        expect(r.status, `${method} ${name}`).to.equal(400);
        expect(r.body).to.not.include(CANARY_TEXT);
      }
    }
  });

  it('answers 413 to XML bodies over --max-xml-bytes, declared or chunked', async () => {
    const big = propfind(`<D:displayname>${'a'.repeat(1024 * 1024)}</D:displayname>`);
    const declared = await request(g.srv.base, 'PROPFIND', '/', { headers: { Depth: '0' }, body: big });
    expect(declared.status).to.equal(413);
    const payload = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">${'a'.repeat(1300 * 1024)}</x:a></D:prop></D:set></D:propertyupdate>`;
    let chunked = rawRequest('PROPPATCH', '/file.txt', { 'Transfer-Encoding': 'chunked' });
    for (let i = 0; i < payload.length; i += 65536) {
      const c = payload.slice(i, i + 65536);
      chunked += `${c.length.toString(16)}\r\n${c}\r\n`;
    }
    chunked += '0\r\n\r\n';
    const r = await raw(g.srv.running.port, chunked);
    expect(r.status).to.equal(413);
  });

  it('refuses floods of references, elements or attributes before parsing, and accepts ordinary amounts', async () => {
    const pp = (inner: string): string => `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">${inner}</x:a></D:prop></D:set></D:propertyupdate>`;
    for (const [name, body] of [
      ['numeric reference flood', pp('&#65;'.repeat(150000))],
      ['element flood', pp('<x:b/>'.repeat(100000))],
      ['attribute flood', pp(`<x:b ${Array.from({ length: 5000 }, (_, i) => `a${i}="1"`).join(' ')}/>`)],
    ] as const) {
      const r = await request(g.srv.base, 'PROPPATCH', '/file.txt', { body });
      expect(r.status, name).to.equal(400);
    }
    const ok = await request(g.srv.base, 'PROPPATCH', '/file.txt', { body: pp('&#65;&lt;'.repeat(2000) + '<x:b c="1" d="2"/>'.repeat(1000)) });
    expect(ok.status).to.equal(207);
  });
});

describe('security: hostile XML keeps memory bounded (child server RSS)', function () {
  this.timeout(120_000);
  let f: Fortress;
  let cli: CliServer;

  before(async () => {
    f = await makeFortress('xmlmem');
    await writeFile(join(f.root, 'file.txt'), 'x');
    cli = await spawnCli(['--root', f.root, '--port', '0']);
  });
  after(async () => {
    await cli?.stop();
    await f.cleanup();
  });

  it('grows by far less than an expansion would need after 10 rounds of every hostile body', async () => {
    const bodies = Object.values(hostileBodies(f.canary));
    bodies.push(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${'&#x41;'.repeat(170000)}</D:prop></D:propfind>`);
    bodies.push(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><x:a xmlns:x="urn:x" ${Array.from({ length: 50000 }, (_, i) => `a${i}="1"`).join(' ')}/></D:prop></D:propfind>`);
    bodies.push(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${'<D:a/>'.repeat(150000)}</D:prop></D:propfind>`);
    // Warm up, then measure.
    for (let i = 0; i < 3; i++) await request(cli.base, 'PROPFIND', '/', { headers: { Depth: '1' } });
    const before = rssOf(cli.proc.pid!);
    let peak = before;
    for (let round = 0; round < 10; round++) {
      for (const body of bodies) {
        const r = await request(cli.base, 'PROPFIND', '/file.txt', { headers: { Depth: '0' }, body });
        expect(r.status).to.be.within(200, 499);
        expect(r.body).to.not.include(CANARY_TEXT);
      }
      peak = Math.max(peak, rssOf(cli.proc.pid!));
    }
    const grown = peak - before;
    // A billion laughs alone would need ~3 GB; ten rounds of these ~1 MiB bodies must not grow
    // the server by more than a small multiple of the body cap (measured: well under 40 MiB).
    expect(grown, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`).to.be.below(Number(process.env.RSSMAX ?? 96) * 1024 * 1024);
    const alive = await request(cli.base, 'PROPFIND', '/', { headers: { Depth: '0' } });
    expect(alive.status).to.equal(207);
    await f.check();
  });
});

describe('security: hostile XML costs about what a benign body of its size costs (child server)', function () {
  this.timeout(180_000);
  let f: Fortress;
  let cli: CliServer;

  before(async () => {
    f = await makeFortress('xmlwork');
    await writeFile(join(f.root, 'file.txt'), 'x');
    cli = await spawnCli(['--root', f.root, '--port', '0']);
  });
  after(async () => {
    await cli?.stop();
    await f.cleanup();
  });

  /** A PROPFIND asking for 15,000 properties in one namespace, padded to `size` bytes. */
  const benign = (size: number): string => {
    const head = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:x="urn:x"><D:prop>';
    const tail = '</D:prop></D:propfind>';
    const each = Math.floor((size - head.length - tail.length) / 15_000);
    const pad = 'a'.repeat(Math.max(0, each - 12));
    return head + Array.from({ length: 15_000 }, (_, i) => `<x:p${String(i).padStart(5, '0')}${pad}/>`).join('') + tail;
  };

  const hostile: Record<string, string> = {
    // 30,000 declarations on the root, hidden from the attribute count by a ">" in a value,
    // then 15,000 children that each declare one more: with a scope copy per declaring element
    // that was 450 million map entries.
    'declarations behind ">" in a value': `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" a=">" ${Array.from({ length: 30_000 }, (_, i) => `xmlns:n${i}="u"`).join(' ')}><D:prop>${Array.from({ length: 15_000 }, (_, i) => `<n${i}:l xmlns:q="urn:q"/>`).join('')}</D:prop></D:propfind>`,
    // 62 levels of 60 declarations each, then 15,000 leaves that each declare one more.
    'deep declaration-heavy scopes': (() => {
      let open = '';
      let close = '';
      for (let l = 0; l < 60; l++) {
        open += `<x:e${l} ${Array.from({ length: 60 }, (_, i) => `xmlns:p${l}_${i}="urn:${l}:${i}"`).join(' ')}>`;
        close = `</x:e${l}>` + close;
      }
      const leaves = Array.from({ length: 15_000 }, (_, i) => `<p0_${i % 60}:leaf xmlns:q="urn:q${i}"/>`).join('');
      return `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:x="urn:x"><D:prop>${open}${leaves}${close}</D:prop></D:propfind>`;
    })(),
    'attributes spread over many elements': `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${Array.from({ length: 1_000 }, (_, j) => `<D:e${j} ${Array.from({ length: 60 }, (_, i) => `a${i}=">"`).join(' ')}/>`).join('')}</D:prop></D:propfind>`,
  };

  const time = async (body: string): Promise<{ ms: number; status: number }> => {
    const t0 = performance.now();
    const r = await request(cli.base, 'PROPFIND', '/file.txt', { headers: { Depth: '0', 'Content-Type': 'application/xml' }, body });
    return { ms: performance.now() - t0, status: r.status };
  };

  for (const [name, body] of Object.entries(hostile)) {
    it(`${name}: answered (207/400) in about the time of a benign body of the same size`, async () => {
      expect(Buffer.byteLength(body)).to.be.below(1024 * 1024);
      const plain = benign(Buffer.byteLength(body));
      const benignMs: number[] = [];
      const hostileMs: number[] = [];
      for (let round = 0; round < 3; round++) {
        const b = await time(plain);
        expect(b.status).to.equal(207);
        benignMs.push(b.ms);
        const h = await time(body);
        expect(h.status).to.be.oneOf([207, 400]);
        hostileMs.push(h.ms);
      }
      const ratio = median(hostileMs) / median(benignMs);
      if (process.env.SHOW_TIMINGS) console.log(`${name}: hostile ${hostileMs.map((m) => m.toFixed(0))} benign ${benignMs.map((m) => m.toFixed(0))}`);
      expect(ratio, `median hostile ${median(hostileMs).toFixed(0)} ms / benign ${median(benignMs).toFixed(0)} ms`).to.be.below(6);
    });
  }
});
