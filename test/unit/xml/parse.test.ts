import { expect } from 'chai';
import { parseXml, decodeEntities, childElements, textContent, type XmlElement } from '../../../src/xml/parse.js';
import { DavError } from '../../../src/errors.js';
import { XML_NS } from '../../../src/xml/names.js';

const name = (el: XmlElement): string => `{${el.ns}}${el.local}`;

function rejects(xml: string, reason?: RegExp): void {
  let err: unknown;
  try {
    parseXml(xml);
  } catch (e) {
    err = e;
  }
  expect(err, xml).to.be.instanceOf(DavError);
  expect((err as DavError).status).to.equal(400);
  if (reason) expect((err as DavError).message).to.match(reason);
}

describe('xml/parse', () => {
  describe('namespace resolution', () => {
    const cases: [string, string, string[]][] = [
      ['prefixed DAV:', '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>', ['{DAV:}propfind', '{DAV:}prop']],
      ['default namespace', '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>', ['{DAV:}propfind', '{DAV:}prop']],
      ['odd prefix', '<z:propfind xmlns:z="DAV:"><z:prop/></z:propfind>', ['{DAV:}propfind', '{DAV:}prop']],
      ['no namespace at all', '<propfind><prop/></propfind>', ['{}propfind', '{}prop']],
      ['default undeclared by xmlns=""', '<propfind xmlns="DAV:"><prop xmlns=""/></propfind>', ['{DAV:}propfind', '{}prop']],
      ['declaration on the child', '<D:a xmlns:D="DAV:"><E:b xmlns:E="http://ex/"/></D:a>', ['{DAV:}a', '{http://ex/}b']],
      ['prefix rebound in a child', '<p:a xmlns:p="urn:one"><p:b xmlns:p="urn:two"/></p:a>', ['{urn:one}a', '{urn:two}b']],
    ];
    for (const [label, xml, [root, child]] of cases) {
      it(label, () => {
        const el = parseXml(xml);
        expect(name(el)).to.equal(root);
        expect(name(childElements(el)[0]!)).to.equal(child);
      });
    }

    it('keeps the prefix as written and scopes declarations to their subtree', () => {
      const el = parseXml('<r xmlns:x="urn:x"><x:a/><b xmlns:y="urn:y"><y:c/></b></r>');
      const [a, b] = childElements(el);
      expect(a!.prefix).to.equal('x');
      expect(name(childElements(b!)[0]!)).to.equal('{urn:y}c');
      rejects('<r><b xmlns:y="urn:y"/><y:c/></r>', /undeclared namespace prefix "y"/);
    });

    it('resolves prefixed attributes, unprefixed attributes have no namespace', () => {
      const el = parseXml('<r xmlns="urn:d" xmlns:q="urn:q" plain="1" q:att="2"/>');
      expect(el.attrs).to.deep.include({ ns: '', local: 'plain', prefix: '', value: '1' });
      expect(el.attrs).to.deep.include({ ns: 'urn:q', local: 'att', prefix: 'q', value: '2' });
      expect(el.attrs.some((a) => a.local === 'xmlns' || a.prefix === 'xmlns')).to.equal(false);
    });

    it('rejects undeclared element and attribute prefixes', () => {
      rejects('<D:propfind/>', /undeclared/);
      rejects('<a xmlns:D="DAV:"><X:b/></a>', /undeclared/);
      rejects('<a u:att="1"/>', /undeclared/);
    });

    it('rejects a prefix bound to the empty namespace and a declared xmlns prefix', () => {
      rejects('<D:propfind xmlns:D=""/>', /empty namespace/);
      rejects('<a xmlns:p=""><b/></a>', /empty namespace/);
      rejects('<a xmlns:xmlns="urn:x"/>');
    });

    it('rejects a repeated attribute (also through two prefixes for one namespace)', () => {
      rejects('<a xmlns:p="urn:p" xmlns:q="urn:p" p:x="1" q:x="2"/>', /repeated/);
    });
  });

  describe('hardening', () => {
    it('rejects DOCTYPE and ENTITY declarations', () => {
      rejects('<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY x "y">]><foo>&x;</foo>', /DOCTYPE/);
      rejects('<!DOCTYPE foo SYSTEM "file:///etc/passwd"><foo/>', /DOCTYPE/);
      rejects('<!doctype foo><foo/>', /DOCTYPE/);
      rejects('<foo><!ENTITY x "y"></foo>');
    });

    it('caps element nesting depth (default 64) and honours a given limit', () => {
      const nest = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n);
      expect(() => parseXml(nest(64))).to.not.throw();
      rejects(nest(65), /nested deeper than 64/);
      rejects(nest(100_000), /nested deeper/);
      expect(() => parseXml(nest(5), { maxDepth: 5 })).to.not.throw();
      expect(() => parseXml(nest(6), { maxDepth: 5 })).to.throw(DavError);
      // Empty elements do not add depth.
      expect(() => parseXml(`<a>${'<b/>'.repeat(1000)}</a>`, { maxDepth: 2 })).to.not.throw();
    });

    it('closing tags hidden in CDATA or comments do not get deep nesting past the cap', () => {
      const deep = '<a>'.repeat(5000) + '</a>'.repeat(5000);
      rejects(`<r><![CDATA[${'</a>'.repeat(5000)}]]>${deep}</r>`);
      rejects(`<r><!-- ${'</a>'.repeat(5000)} -->${deep}</r>`);
    });

    it('counts attributes behind a ">" inside a quoted value, and caps attributes per document', () => {
      const many = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => `a${i + from}="1"`).join(' ');
      rejects(`<r x=">" ${many(64)}/>`, /more than 64 attributes on one element/);
      rejects(`<r x='>' y="'>" ${many(63)}/>`, /more than 64 attributes on one element/);
      expect(() => parseXml(`<r x=">" ${many(63)}/>`)).to.not.throw();
      // A ">" in a value does not end the tag for the depth count either.
      rejects(`<r>${'<a b=">"/>'.repeat(1)}${'<a c="/>">'.repeat(70)}${'</a>'.repeat(70)}</r>`, /nested deeper/);
      const elements = Array.from({ length: 400 }, (_, i) => `<e ${many(60, i * 60)}/>`).join('');
      rejects(`<r>${elements}</r>`, /more than 20000 attributes in the document/);
      expect(() => parseXml(`<r>${Array.from({ length: 300 }, (_, i) => `<e ${many(60, i * 60)}/>`).join('')}</r>`)).to.not.throw();
    });

    it('resolves namespaces through deep, declaration-heavy scopes (timing: test/security/xml.test.ts)', () => {
      const decls = (level: number): string => Array.from({ length: 60 }, (_, i) => `xmlns:p${level}_${i}="urn:${level}:${i}"`).join(' ');
      let open = '';
      let close = '';
      for (let l = 0; l < 62; l++) {
        open += `<p${Math.max(0, l - 1)}_0:e${l} ${decls(l)}>`;
        close = `</p${Math.max(0, l - 1)}_0:e${l}>` + close;
      }
      const leaves = Array.from({ length: 15_000 }, (_, i) => `<p0_${i % 60}:leaf xmlns:q="urn:q${i}"/>`).join('');
      const xml = open.replace('<p0_0:e0 ', '<e0 ') + leaves + close.replace(/<\/p0_0:e0>$/, '</e0>');
      const el = parseXml(xml);
      let deepest = el;
      while (childElements(deepest)[0]?.local.startsWith('e')) deepest = childElements(deepest)[0]!;
      const leavesEl = childElements(deepest);
      expect(leavesEl).to.have.length(15_000);
      expect(name(leavesEl[7]!)).to.equal('{urn:0:7}leaf');
      expect(name(childElements(el)[0]!)).to.equal('{urn:0:0}e1');
    });

    it('rejects malformed documents', () => {
      for (const xml of ['', '   ', 'not xml', '<a>', '<a></b>', '<a><b></a></b>', '<a x=1/>', '<a/><b/>', '<a/>trailing text', 'text<a/>', '<a>&</a>']) {
        rejects(xml);
      }
      rejects('<a/><b/>', /root/);
    });

    it('accepts an XML declaration, comments, processing instructions and surrounding whitespace', () => {
      const el = parseXml('<?xml version="1.0" encoding="utf-8"?>\n<!-- hi --><?pi x?>\n<a xmlns="DAV:"><!-- c --><b/></a>\n');
      expect(name(el)).to.equal('{DAV:}a');
      expect(childElements(el).map(name)).to.deep.equal(['{DAV:}b']);
    });
  });

  describe('text', () => {
    it('decodes the predefined entities and character references', () => {
      const el = parseXml('<a>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x1F600; &#233;</a>');
      expect(textContent(el)).to.equal(`<>&"' AB\u{1F600} é`);
    });

    it('decodes entities in attribute values', () => {
      expect(parseXml('<a v="&lt;x&gt; &amp; &#x263A;"/>').attrs[0]!.value).to.equal('<x> & ☺');
    });

    it('rejects unknown entities and invalid character references', () => {
      for (const ent of ['&nbsp;', '&foo;', '&#0;', '&#xD800;', '&#x110000;', '&#xZZ;', '&#;']) rejects(`<a>${ent}</a>`);
      // XML 1.0 has no way to carry C0 controls (but tab, LF, CR) or U+FFFE/U+FFFF, escaped or not.
      for (const ent of ['&#1;', '&#x1;', '&#8;', '&#xB;', '&#x1F;', '&#xFFFE;', '&#xFFFF;']) rejects(`<a>${ent}</a>`, /not a character XML allows/);
      for (const c of ['\x01', '\x08', '\x1f', '\ufffe']) {
        rejects(`<a>x${c}y</a>`, /character XML does not allow/);
        rejects(`<a v="${c}"/>`);
      }
      rejects('<a v="&#1;"/>');
      expect(textContent(parseXml('<a>&#9;&#10;&#13;\t</a>'))).to.equal('\t\n\r\t');
      expect(() => decodeEntities('&copy;')).to.throw(DavError);
    });

    it('keeps CDATA content literally and merges it with adjacent text', () => {
      const el = parseXml('<a>x<![CDATA[<b>&amp;</b>]]>y</a>');
      expect(el.children).to.deep.equal(['x<b>&amp;</b>y']);
    });

    it('keeps whitespace and non-ASCII text as is', () => {
      const el = parseXml('<a>  Grüße 日本 \n </a>');
      expect(textContent(el)).to.equal('  Grüße 日本 \n ');
    });
  });

  describe('xml:lang', () => {
    it('is inherited by descendants and overridden where redeclared', () => {
      const el = parseXml('<a xml:lang="en"><b><c xml:lang="fr"><d/></c></b><e/></a>');
      expect(el.lang).to.equal('en');
      const [b, e] = childElements(el);
      expect(b!.lang).to.equal('en');
      expect(e!.lang).to.equal('en');
      const c = childElements(b!)[0]!;
      expect(c.lang).to.equal('fr');
      expect(childElements(c)[0]!.lang).to.equal('fr');
      expect(c.attrs).to.deep.equal([{ ns: XML_NS, local: 'lang', prefix: 'xml', value: 'fr' }]);
    });

    it('is undefined when never declared', () => {
      expect(parseXml('<a><b/></a>').lang).to.equal(undefined);
    });
  });
  describe('bodies parsed lately are kept', () => {
    const lockinfo = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>me</D:href></D:owner></D:lockinfo>';

    it('hands out the same frozen tree for the same text, which no caller can change', () => {
      const a = parseXml(lockinfo);
      const b = parseXml(lockinfo);
      expect(b).to.equal(a);
      expect(Object.isFrozen(a)).to.equal(true);
      const owner = childElements(a).find((e) => e.local === 'owner')!;
      expect(Object.isFrozen(owner.children)).to.equal(true);
      expect(() => (owner.children as unknown[]).push('x')).to.throw(TypeError);
      expect(Reflect.set(owner, 'local', 'other')).to.equal(false);
      expect(owner.local).to.equal('owner');
      expect(textContent(childElements(owner)[0]!)).to.equal('me');
    });

    it('parses a different text afresh, and never keeps a body that failed', () => {
      const a = parseXml(lockinfo);
      const b = parseXml(lockinfo.replace('me', 'you'));
      expect(b).to.not.equal(a);
      expect(textContent(childElements(childElements(b).find((e) => e.local === 'owner')!)[0]!)).to.equal('you');
      const broken = '<D:lockinfo xmlns:D="DAV:"><D:lockscope>';
      for (let i = 0; i < 2; i++) expect(() => parseXml(broken)).to.throw(DavError);
    });

    it('keeps nothing parsed with other limits', () => {
      const limits = { maxDepth: 8, maxElements: 100, maxAttributes: 8, maxTotalAttributes: 100, maxReferences: 100 };
      const a = parseXml(lockinfo, limits);
      expect(Object.isFrozen(a)).to.equal(false);
      expect(parseXml(lockinfo, limits)).to.not.equal(a);
    });
  });
});
