import { expect } from 'chai';
import { childElements, parseXml, type XmlElement, type XmlNode } from '../../../src/xml/parse.js';
import { serializeChildren, escapeText, escapeAttr, errorBody, propTag } from '../../../src/xml/write.js';

/** Namespace-resolved view of a tree (prefixes dropped), to compare meaning rather than spelling. */
function canon(node: XmlNode): unknown {
  if (typeof node === 'string') return node;
  return {
    name: `{${node.ns}}${node.local}`,
    lang: node.lang,
    attrs: node.attrs.map((a) => `{${a.ns}}${a.local}=${a.value}`).sort(),
    children: node.children.map(canon),
  };
}

/** Wraps serialized children in a fresh root and parses them back. */
const reparse = (inner: string, lang?: string): XmlElement =>
  parseXml(`<wrap${lang ? ` xml:lang="${lang}"` : ''}>${inner}</wrap>`);

describe('xml/write', () => {
  describe('serializeChildren round-trips', () => {
    const cases: [string, string][] = [
      ['plain text', '<p xmlns:D="DAV:">hello</p>'],
      ['nested elements in several namespaces', '<p xmlns:D="DAV:"><x:a xmlns:x="urn:x"><x:b><y:c xmlns:y="urn:y">t</y:c></x:b></x:a></p>'],
      ['default namespace children', '<p><a xmlns="urn:default"><b>deep</b><c xmlns="">none</c></a></p>'],
      ['prefix rebinding', '<p><q:a xmlns:q="urn:1"><q:b xmlns:q="urn:2"/></q:a></p>'],
      ['attributes, prefixed and plain', '<p><a xmlns:z="urn:z" z:one="1" two="&lt;2&quot;&amp;"/></p>'],
      ['xml:lang on a child', '<p><a xml:lang="de">Grüße</a><b>x</b></p>'],
      ['non-ASCII and emoji', '<p>日本語 — ελληνικά 😀 <é xmlns="urn:ü">ñ</é></p>'],
      ['markup characters in text', '<p>a &lt; b &amp;&amp; c &gt; d "q" \'s\'</p>'],
      ['mixed content', '<p>before<a xmlns="urn:a">in</a>after<b xmlns="urn:b"/>end</p>'],
      ['whitespace kept', '<p>\n  <a xmlns="urn:a"> x </a>\n</p>'],
      ['carriage return survives', '<p>line1&#13;\nline2</p>'],
      ['attribute with newline and tab', '<p><a v="x&#10;y&#9;z"/></p>'],
      ['empty element', '<p><a xmlns="urn:a"/></p>'],
    ];
    for (const [label, xml] of cases) {
      it(label, () => {
        const el = parseXml(xml);
        const out = serializeChildren(el);
        const back = reparse(out, el.lang);
        expect(back.children.map(canon)).to.deep.equal(el.children.map(canon));
      });
    }

    it('declares each namespace it uses, so the fragment stands alone', () => {
      const el = parseXml('<D:prop xmlns:D="DAV:" xmlns:x="urn:x"><x:a><x:b/></x:a></D:prop>');
      const out = serializeChildren(el);
      expect(out).to.equal('<x:a xmlns:x="urn:x"><x:b/></x:a>');
    });

    it('is stable: serializing the reparsed fragment gives the same text', () => {
      const el = parseXml('<p xmlns:x="urn:x"><x:a k="v" xml:lang="en">t<x:b/></x:a></p>');
      const once = serializeChildren(el);
      expect(serializeChildren(reparse(once))).to.equal(once);
    });
  });

  it('escapes text and attributes', () => {
    expect(escapeText('a<b>&c\r')).to.equal('a&lt;b&gt;&amp;c&#13;');
    expect(escapeText('plain')).to.equal('plain');
    expect(escapeAttr('"<&>\n\t')).to.equal('&quot;&lt;&amp;&gt;&#10;&#9;');
  });

  it('writes characters XML cannot carry (C0 controls, U+FFFE/U+FFFF) as U+FFFD, so output stays well-formed', () => {
    expect(escapeText('a\x01b\x1f\x00c\ufffe')).to.equal('a\ufffdb\ufffd\ufffdc\ufffd');
    expect(escapeAttr('\x07"')).to.equal('\ufffd&quot;');
    expect(escapeText('tab\tlf\n')).to.equal('tab\tlf\n');
    const el = parseXml('<p xmlns:x="urn:x"><x:a>t</x:a></p>');
    (childElements(el)[0]!.children as string[])[0] = 'bad\x01';
    expect(() => parseXml(`<r>${serializeChildren(el)}</r>`)).to.not.throw();
  });

  it('serializes deep fragments that declare many namespaces without copying scopes', () => {
    let xml = '';
    for (let l = 0; l < 60; l++) xml += `<x${l}:e xmlns:x${l}="urn:${l}" ${Array.from({ length: 40 }, (_, i) => `xmlns:d${l}_${i}="urn:d${i}"`).join(' ')}>`;
    xml += Array.from({ length: 5000 }, (_, i) => `<x${i % 60}:leaf/>`).join('');
    for (let l = 59; l >= 0; l--) xml += `</x${l}:e>`;
    const el = parseXml(`<p>${xml}</p>`);
    const out = serializeChildren(el);
    expect(serializeChildren(parseXml(`<p>${out}</p>`))).to.equal(out);
  });

  it('errorBody writes a DAV:error with the condition and its hrefs', () => {
    const body = errorBody('lock-token-submitted', ['/a&b/']);
    const el = parseXml(body);
    expect(`{${el.ns}}${el.local}`).to.equal('{DAV:}error');
    expect(body).to.include('<D:lock-token-submitted><D:href>/a&amp;b/</D:href></D:lock-token-submitted>');
  });

  it('propTag names DAV:, empty and other namespaces correctly', () => {
    for (const [ns, local] of [['DAV:', 'getetag'], ['', 'plain'], ['urn:x"y', 'p']] as const) {
      const t = propTag(ns, local);
      const el = parseXml(`<D:prop xmlns:D="DAV:">${t.open}v${t.close}${t.empty}</D:prop>`);
      const kids = el.children.filter((c): c is XmlElement => typeof c !== 'string');
      for (const k of kids) expect(`{${k.ns}}${k.local}`).to.equal(`{${ns}}${local}`);
    }
  });
});
