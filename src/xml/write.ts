/**
 * XML output: escaping, DAV:error bodies, and faithful re-serialisation of client-supplied XML
 * (dead property values, lock owners) with every namespace it uses declared inside it.
 * Multistatus bodies are written as strings piece by piece (see src/dav/multistatus.ts); an
 * object-to-XML builder was measured several times slower.
 */
import { DAV_NS, MS_NS, XML_NS } from './names.js';
import { lookup, type Scope, type XmlElement, type XmlNode } from './parse.js';

// Characters XML 1.0 cannot carry at all, not even as references (a file name with %01 in it, a
// property stored before the parser refused them): written as U+FFFD so the document stays
// well-formed. The name itself still reaches clients intact through its percent-encoded href.
const TEXT_RE = /[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;
const ATTR_RE = /[&<>"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;
const ENT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };
const entity = (c: string): string => ENT[c] ?? '\ufffd';

export const escapeText = (s: string): string => (TEXT_RE.test((TEXT_RE.lastIndex = 0, s)) ? s.replace(TEXT_RE, entity) : s);
export const escapeAttr = (s: string): string => (ATTR_RE.test((ATTR_RE.lastIndex = 0, s)) ? s.replace(ATTR_RE, entity) : s);

export const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';

/** `<D:error>` body for a failed precondition (RFC 4918 section 16). */
export function errorBody(condition: string, hrefs: string[] = []): string {
  const inner = hrefs.map((h) => `<D:href>${escapeText(h)}</D:href>`).join('');
  return `${XML_DECL}<D:error xmlns:D="DAV:"><D:${condition}>${inner}</D:${condition}></D:error>`;
}

/**
 * Serialises element children so the result is well-formed on its own: each namespace is
 * declared on the first element that needs it, prefixes are kept as the client wrote them.
 * The surrounding context is assumed to have no default namespace (we always write prefixed
 * or `xmlns=""` property elements).
 */
export function serializeChildren(el: XmlElement): string {
  let out = '';
  const scope: Scope = { decls: new Map([['', ''], ['xml', XML_NS]]), parent: null };
  for (const c of el.children) out += serializeNode(c, scope);
  return out;
}

function serializeNode(node: XmlNode, scope: Scope): string {
  if (typeof node === 'string') return escapeText(node);
  // Prefixes declared so far: a small map per element that declares any, linked to the parent's.
  let local = scope;
  let decls = '';
  const declare = (prefix: string, ns: string): void => {
    if (lookup(local, prefix) === ns) return;
    if (local === scope) local = { decls: new Map(), parent: scope };
    local.decls.set(prefix, ns);
    decls += prefix === '' ? ` xmlns="${escapeAttr(ns)}"` : ` xmlns:${prefix}="${escapeAttr(ns)}"`;
  };
  // An element written without prefix in a non-empty namespace keeps using the default namespace.
  let prefix = node.prefix;
  if (prefix === '' || node.ns !== '') declare(prefix, node.ns);
  else if (node.ns === '' && prefix !== '') prefix = '';
  let attrs = '';
  for (const a of node.attrs) {
    if (a.ns === XML_NS) {
      attrs += ` xml:${a.local}="${escapeAttr(a.value)}"`;
      continue;
    }
    if (a.ns !== '') declare(a.prefix || 'a', a.ns);
    const p = a.ns === '' ? '' : `${a.prefix || 'a'}:`;
    attrs += ` ${p}${a.local}="${escapeAttr(a.value)}"`;
  }
  const name = prefix ? `${prefix}:${node.local}` : node.local;
  if (node.children.length === 0) return `<${name}${decls}${attrs}/>`;
  let inner = '';
  for (const c of node.children) inner += serializeNode(c, local);
  return `<${name}${decls}${attrs}>${inner}</${name}>`;
}

/**
 * Opening and closing tags for a property element named by namespace + local name, for use
 * inside a multistatus whose root declares `D` as DAV:.
 */
export function propTag(ns: string, local: string, attrs = ''): { open: string; close: string; empty: string } {
  if (ns === DAV_NS) return { open: `<D:${local}${attrs}>`, close: `</D:${local}>`, empty: `<D:${local}${attrs}/>` };
  // Z: is declared on the multistatus element (MULTISTATUS_OPEN), where every property tag goes.
  if (ns === MS_NS) return { open: `<Z:${local}${attrs}>`, close: `</Z:${local}>`, empty: `<Z:${local}${attrs}/>` };
  if (ns === '') return { open: `<${local} xmlns=""${attrs}>`, close: `</${local}>`, empty: `<${local} xmlns=""${attrs}/>` };
  const decl = ` xmlns:x="${escapeAttr(ns)}"`;
  return { open: `<x:${local}${decl}${attrs}>`, close: `</x:${local}>`, empty: `<x:${local}${decl}${attrs}/>` };
}

/** Serialises attributes (other than xml:lang) with their namespace declarations. */
export function serializeAttrs(attrs: readonly { ns: string; local: string; prefix: string; value: string }[]): string {
  let out = '';
  let n = 0;
  for (const a of attrs) {
    if (a.ns === XML_NS) {
      if (a.local !== 'lang') out += ` xml:${a.local}="${escapeAttr(a.value)}"`;
      continue;
    }
    if (a.ns === '') {
      out += ` ${a.local}="${escapeAttr(a.value)}"`;
      continue;
    }
    const p = `a${n++}`;
    out += ` xmlns:${p}="${escapeAttr(a.ns)}" ${p}:${a.local}="${escapeAttr(a.value)}"`;
  }
  return out;
}
