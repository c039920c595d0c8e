/** Property-based tests of the hardened XML parser and namespace resolver, fixed seed. */
import fc from 'fast-check';
import { expect } from 'chai';
import { parseXml, type XmlElement, type XmlNode } from '../../src/xml/parse.js';
import { escapeAttr, escapeText, serializeChildren } from '../../src/xml/write.js';
import { XML_NS } from '../../src/xml/names.js';
import { mutated, onlyDavError, params } from './fuzz-helpers.js';

const XML_CHARS = fc.constantFrom('<', '>', '/', '=', '"', "'", ':', 'D', 'a', 'x', 'm', 'l', 'n', 's', ' ', '&', ';', '#', '!', '?', '[', ']', '-', '\n', 'é', '\0');

/** A generated element: what the resolver must report, plus how it is written. */
interface GenEl {
  ns: string;
  local: string;
  prefix: string;
  attrs: { ns: string; local: string; prefix: string; value: string }[];
  children: (GenEl | string)[];
}

const nsUri = fc.constantFrom('DAV:', 'http://example.com/ns', 'urn:x', 'http://a.b/c?d=1&e="f"', 'urn:ünï');
const prefixName = fc.constantFrom('D', 'x', 'ns1', 'a-b', 'Z');
const localName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/).filter((s) => !/^xml/i.test(s));
const text = fc.string({ unit: fc.constantFrom('a', ' ', '<', '>', '&', '"', "'", 'é', '日', '\n', '\t', ']', '\ud83d\ude00'), minLength: 1, maxLength: 12 });
const attrValue = fc.string({ unit: fc.constantFrom('a', ' ', '<', '>', '&', '"', "'", 'é', '='), maxLength: 8 });

const element: fc.Arbitrary<GenEl> = fc.letrec<{ el: GenEl }>((tie) => ({
  el: fc
    .record({
      useDefault: fc.boolean(),
      ns: fc.oneof(nsUri, fc.constant('')),
      prefix: prefixName,
      local: localName,
      attrs: fc.uniqueArray(fc.record({ local: localName, value: attrValue, namespaced: fc.boolean(), ns: nsUri }), { maxLength: 3, selector: (a) => `${a.namespaced ? a.ns : ''}|${a.local}` }),
      children: fc.array(fc.oneof({ depthSize: 'small' }, text, tie('el')), { maxLength: 4 }),
    })
    .map((r) => ({
      ns: r.ns,
      local: r.local,
      // A prefix cannot be bound to the empty namespace: unprefixed then.
      prefix: r.useDefault || r.ns === '' ? '' : r.prefix,
      attrs: r.attrs.map((a) => (a.namespaced ? { ns: a.ns, local: a.local, prefix: 'at', value: a.value } : { ns: '', local: a.local, prefix: '', value: a.value })),
      children: mergeText(r.children as (GenEl | string)[]),
    })),
})).el;

function mergeText(children: (GenEl | string)[]): (GenEl | string)[] {
  const out: (GenEl | string)[] = [];
  for (const c of children) {
    if (typeof c === 'string' && typeof out[out.length - 1] === 'string') out[out.length - 1] += c;
    else out.push(c);
  }
  return out;
}

/** Writes a generated element, declaring namespaces on every element (redundantly or not). */
function write(el: GenEl): string {
  let decl = el.prefix === '' ? ` xmlns="${escapeAttr(el.ns)}"` : ` xmlns:${el.prefix}="${escapeAttr(el.ns)}"`;
  let attrs = '';
  const atNs = el.attrs.find((a) => a.ns)?.ns;
  if (atNs !== undefined) decl += ` xmlns:at="${escapeAttr(atNs)}"`;
  for (const a of el.attrs) attrs += a.ns ? ` at:${a.local}="${escapeAttr(a.value)}"` : ` ${a.local}="${escapeAttr(a.value)}"`;
  const name = el.prefix ? `${el.prefix}:${el.local}` : el.local;
  const inner = el.children.map((c) => (typeof c === 'string' ? escapeText(c) : write(c))).join('');
  return inner ? `<${name}${decl}${attrs}>${inner}</${name}>` : `<${name}${decl}${attrs}/>`;
}

/** Generated elements may put several namespaced attributes on one `at` prefix: keep one namespace. */
function fixAttrs(el: GenEl): GenEl {
  const first = el.attrs.find((a) => a.ns)?.ns;
  const attrs = el.attrs.filter((a) => !a.ns || a.ns === first);
  const seen = new Set<string>();
  return {
    ...el,
    attrs: attrs.filter((a) => (seen.has(a.ns + '|' + a.local) ? false : (seen.add(a.ns + '|' + a.local), true))),
    children: el.children.map((c) => (typeof c === 'string' ? c : fixAttrs(c))),
  };
}

function shape(n: XmlNode | GenEl): unknown {
  if (typeof n === 'string') return n;
  return {
    ns: n.ns,
    local: n.local,
    attrs: n.attrs.filter((a) => a.ns !== XML_NS).map((a) => `{${a.ns}}${a.local}=${a.value}`).sort(),
    children: n.children.map(shape),
  };
}

const doc = element.map(fixAttrs);

describe('fuzz: XML parser and namespace resolver', () => {
  it('resolves every generated document to the names, attributes and text it was built from', () => {
    fc.assert(
      fc.property(doc, fc.boolean(), (el, withDecl) => {
        const text = (withDecl ? '<?xml version="1.0" encoding="utf-8"?>\n' : '') + write(el);
        expect(shape(parseXml(text))).to.deep.equal(shape(el));
      }),
      params,
    );
  });

  it('re-serialises children (dead property values) so they parse back to the same tree', () => {
    fc.assert(
      fc.property(doc, (el) => {
        const parsed = parseXml(write(el));
        const again = parseXml(`<wrap>${serializeChildren(parsed)}</wrap>`);
        expect(again.children.map(shape)).to.deep.equal(parsed.children.map(shape));
      }),
      params,
    );
  });

  it('answers random strings with a tree or a 400 DavError, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: XML_CHARS, maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (s) => {
        onlyDavError(() => parseXml(s), 400);
      }),
      params,
    );
  });

  it('answers mutated valid documents with a tree or a 400 DavError, nothing else', () => {
    fc.assert(
      fc.property(mutated(doc.map(write), XML_CHARS), (s) => {
        const r = onlyDavError(() => parseXml(s), 400);
        if (r) expect(typeof r.local).to.equal('string');
      }),
      params,
    );
  });

  it('rejects deep nesting, DTDs and entity tricks in bounded time', () => {
    const cases = [
      '<a>'.repeat(100_000) + '</a>'.repeat(100_000),
      '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
      '<x>' + '&amp;'.repeat(100_000) + '&bogus;</x>',
      '<x ' + 'a="1" '.repeat(10_000) + '/>',
      '<' + 'x'.repeat(500_000),
      '<x:y xmlns:x=""/>',
    ];
    for (const c of cases) expect(onlyDavError(() => parseXml(c), 400)).to.equal(undefined);
  });
});
