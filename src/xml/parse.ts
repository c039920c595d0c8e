/**
 * Hardened, namespace-aware XML parsing for request bodies (propfind, propertyupdate, lockinfo).
 *
 * fast-xml-parser does the tokenising with entity processing off; this module rejects DTDs
 * (no DOCTYPE means no entity expansion, so no XXE or billion laughs), bounds nesting depth,
 * decodes the five predefined entities and character references itself, and resolves
 * `xmlns` declarations so that callers only ever see `{namespace}local` names.
 */
import { createRequire } from 'node:module';
import { DavError } from '../errors.js';
import { XML_NS, qkey } from './names.js';

// The package's CommonJS build: one file, ~2.5 MiB less resident memory than its ES module
// tree of many small modules (measured on the idle server).
const { XMLParser, XMLValidator } = createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser');

/** Parsed trees are read-only: parseXml hands the same (frozen) tree to every request with the same body. */
export interface XmlAttr {
  readonly ns: string;
  readonly local: string;
  /** Prefix as written, '' when none. */
  readonly prefix: string;
  readonly value: string;
}

export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  /** Prefix as written, '' when none (then `ns` came from the default namespace). */
  readonly prefix: string;
  /** Attributes other than namespace declarations. */
  readonly attrs: readonly XmlAttr[];
  readonly children: readonly XmlNode[];
  /** xml:lang in scope for this element (inherited from ancestors), if any. */
  readonly lang?: string;
}

export type XmlNode = XmlElement | string;

export interface XmlLimits {
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements?: number;
  /** Attributes on one element (namespace declarations included). */
  maxAttributes?: number;
  /** Attributes in the whole document. */
  maxTotalAttributes?: number;
  /** Entity and character references (`&...;`) in the whole document. */
  maxReferences?: number;
}

/**
 * Far above what any WebDAV client sends, far below what makes the tokenizer expensive: a
 * 1 MiB body of 150,000 empty elements or character references costs the parser ~30 MB of
 * heap; these caps keep a hostile body to a few MB and a few ms, refused before parsing.
 * Together with namespace lookups that cost at most the depth (a scope chain, never a copy),
 * they bound the work per body, not just its bytes.
 */
const DEFAULT_LIMITS: XmlLimits = { maxDepth: 64, maxElements: 20_000, maxAttributes: 64, maxTotalAttributes: 20_000, maxReferences: 20_000 };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: false,
});

const bad = (reason: string): DavError => new DavError(400, `Malformed XML: ${reason}`);

/** XML 1.0 `Char` (section 2.2): no C0 controls but tab, LF and CR, no surrogates, no U+FFFE/U+FFFF. */
const isXmlChar = (c: number): boolean =>
  c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

/**
 * Characters XML 1.0 does not allow anywhere in a document, even escaped (lone surrogates
 * cannot occur: bodies and file names are decoded from UTF-8, invalid bytes become U+FFFD).
 */
export const NON_XML_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

/** Decodes the predefined entities and numeric character references; anything else is an error. */
export function decodeEntities(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(/&([^;&\s]{0,32});/g, (_m, name: string) => {
    switch (name) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    let code = NaN;
    if (/^#x[0-9a-fA-F]{1,6}$/.test(name)) code = parseInt(name.slice(2), 16);
    else if (/^#[0-9]{1,7}$/.test(name)) code = parseInt(name.slice(1), 10);
    if (!Number.isFinite(code) || !isXmlChar(code)) throw bad(`&${name}; is not a character XML allows`);
    return String.fromCodePoint(code);
  });
}

/**
 * Linear pre-scan, before the parser runs: nesting depth (so a hostile body cannot blow the
 * parser's stack), element and attribute counts, and the number of references. Quoted
 * attribute values, comments, CDATA sections and processing instructions are skipped as
 * units, so a `>` inside an attribute value cannot hide the attributes after it.
 */
function prescan(text: string, limits: XmlLimits): void {
  const maxDepth = limits.maxDepth;
  const maxElements = limits.maxElements ?? Infinity;
  const maxAttributes = limits.maxAttributes ?? Infinity;
  const maxTotal = limits.maxTotalAttributes ?? Infinity;
  if (limits.maxReferences !== undefined) {
    let refs = 0;
    for (let a = text.indexOf('&'); a !== -1; a = text.indexOf('&', a + 1)) {
      if (++refs > limits.maxReferences) throw bad(`more than ${limits.maxReferences} entity or character references`);
    }
  }
  const n = text.length;
  let depth = 0;
  let elements = 0;
  let total = 0;
  const skipTo = (end: string, from: number, what: string): number => {
    const e = text.indexOf(end, from);
    if (e === -1) throw bad(`unterminated ${what}`);
    return e + end.length;
  };
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i)) {
    const c = text.charCodeAt(i + 1);
    if (c === 0x21 /* ! */) {
      if (text.startsWith('<!--', i)) i = skipTo('-->', i + 4, 'comment');
      else if (text.startsWith('<![CDATA[', i)) i = skipTo(']]>', i + 9, 'CDATA section');
      else i += 2;
      continue;
    }
    if (c === 0x3f /* ? */) {
      i = skipTo('?>', i + 2, 'processing instruction');
      continue;
    }
    if (c === 0x2f /* / */) {
      depth--;
      i = skipTo('>', i + 2, 'end tag');
      continue;
    }
    if (++elements > maxElements) throw bad(`more than ${maxElements} elements`);
    let attrs = 0;
    let quote = 0;
    let j = i + 1;
    for (; j < n; j++) {
      const ch = text.charCodeAt(j);
      if (quote !== 0) {
        if (ch === quote) quote = 0;
      } else if (ch === 0x22 || ch === 0x27) quote = ch;
      else if (ch === 0x3d /* = */) {
        if (++attrs > maxAttributes) throw bad(`more than ${maxAttributes} attributes on one element`);
      } else if (ch === 0x3e /* > */) break;
    }
    if (j >= n) throw bad('unterminated start tag');
    total += attrs;
    if (total > maxTotal) throw bad(`more than ${maxTotal} attributes in the document`);
    if (text.charCodeAt(j - 1) !== 0x2f /* / */ && ++depth > maxDepth) throw bad(`elements nested deeper than ${maxDepth}`);
    i = j + 1;
  }
}

/**
 * The namespace prefixes in scope: each element that declares some gets one small map and a
 * link to its parent's scope, so entering an element never copies what is already in scope
 * and a lookup costs at most the depth (a copy per element made deep, declaration-heavy
 * bodies quadratic: a 474 KB PROPFIND took 13-16 s).
 */
export interface Scope {
  readonly decls: Map<string, string>;
  readonly parent: Scope | null;
}

/** The namespace `prefix` is bound to in `scope`, or undefined. */
export function lookup(scope: Scope | null, prefix: string): string | undefined {
  for (let s = scope; s; s = s.parent) {
    const ns = s.decls.get(prefix);
    if (ns !== undefined) return ns;
  }
  return undefined;
}

type RawNode = Record<string, unknown>;

/**
 * Parses an XML document and returns its root element with namespaces resolved.
 * Throws DavError(400) for anything that is not well-formed, namespace-valid XML without a DTD.
 */
/**
 * Bodies parsed lately, by their text: clients send the same few bodies over and over (a LOCK's
 * lockinfo with the same owner, the PROPFIND of Finder, Windows or davfs2), and validating and
 * parsing one with fast-xml-parser took ~60 us of a LOCK's ~370 us of main-thread CPU. At most
 * PARSED_KEEP bodies of at most PARSED_TEXT_MAX characters, least recently used out first; the
 * trees kept are frozen, so no request can change what another one is handed. Only bodies parsed
 * with the default limits (the only ones requests use), and only those that parsed.
 */
const PARSED_KEEP = 64;
const PARSED_TEXT_MAX = 4096;
const parsed = new Map<string, XmlElement>();

function freeze(el: XmlElement): XmlElement {
  for (const c of el.children) if (typeof c !== 'string') freeze(c);
  for (const a of el.attrs) Object.freeze(a);
  Object.freeze(el.attrs);
  Object.freeze(el.children);
  return Object.freeze(el);
}

export function parseXml(text: string, limits: XmlLimits = DEFAULT_LIMITS): XmlElement {
  const keep = limits === DEFAULT_LIMITS && text.length <= PARSED_TEXT_MAX;
  if (keep) {
    const hit = parsed.get(text);
    if (hit) {
      parsed.delete(text);
      parsed.set(text, hit);
      return hit;
    }
  }
  const root = parseText(text, limits);
  if (!keep) return root;
  if (parsed.size >= PARSED_KEEP) parsed.delete(parsed.keys().next().value as string);
  parsed.set(text, freeze(root));
  return root;
}

function parseText(text: string, limits: XmlLimits): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw bad('DOCTYPE and entity declarations are not allowed');
  // The validator lets text after a self-closing root (`<a/>junk`) pass and the parser drops it.
  if (text.slice(text.lastIndexOf('>') + 1).trim() !== '') throw bad('text outside the root element');
  // Not well-formed (XML 1.0 section 2.2), and a control character would make our own answers
  // that echo the text (dead properties, lock owners) unreadable.
  if (NON_XML_CHARS.test(text)) throw bad('a character XML does not allow (a control character?)');
  prescan(text, limits);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw bad(valid.err.msg);
  let raw: RawNode[];
  try {
    raw = parser.parse(text) as RawNode[];
  } catch (e) {
    throw bad((e as Error).message);
  }
  let root: XmlElement | undefined;
  for (const node of raw) {
    const name = elementName(node);
    if (name === undefined) {
      const t = node['#text'];
      if (typeof t === 'string' && t.trim() !== '') throw bad('text outside the root element');
      continue;
    }
    if (root) throw bad('more than one root element');
    root = convert(node, name, { decls: new Map([['xml', XML_NS]]), parent: null }, undefined);
  }
  if (!root) throw bad('no root element');
  return root;
}

function elementName(node: RawNode): string | undefined {
  for (const k of Object.keys(node)) if (k !== ':@' && k !== '#text' && k !== '#cdata') return k;
  return undefined;
}

function splitName(qname: string): [string, string] {
  const c = qname.indexOf(':');
  return c === -1 ? ['', qname] : [qname.slice(0, c), qname.slice(c + 1)];
}

function convert(node: RawNode, qname: string, parentScope: Scope, parentLang: string | undefined): XmlElement {
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let scope = parentScope;
  const plain: [string, string][] = [];
  for (const [name, rawValue] of Object.entries(rawAttrs)) {
    const value = decodeEntities(String(rawValue));
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope === parentScope) scope = { decls: new Map(), parent: parentScope };
      const prefix = name === 'xmlns' ? '' : name.slice(6);
      // Namespaces in XML 1.0: a prefix cannot be bound to the empty namespace (litmus propfind_invalid2).
      if (prefix !== '' && value === '') throw bad(`prefix "${prefix}" bound to an empty namespace`);
      if (prefix === 'xmlns') throw bad('the xmlns prefix cannot be declared');
      scope.decls.set(prefix, value);
    } else {
      plain.push([name, value]);
    }
  }
  const [prefix, local] = splitName(qname);
  const ns = lookup(scope, prefix);
  if (ns === undefined) {
    if (prefix !== '') throw bad(`undeclared namespace prefix "${prefix}"`);
  }
  let lang = parentLang;
  const attrs: XmlAttr[] = [];
  const seen = new Set<string>();
  for (const [name, value] of plain) {
    const [ap, al] = splitName(name);
    const ans = ap === '' ? '' : lookup(scope, ap);
    if (ans === undefined) throw bad(`undeclared namespace prefix "${ap}"`);
    const key = qkey(ans, al);
    if (seen.has(key)) throw bad(`attribute ${name} repeated`);
    seen.add(key);
    if (ans === XML_NS && al === 'lang') lang = value;
    attrs.push({ ns: ans, local: al, prefix: ap, value });
  }
  const children: XmlNode[] = [];
  const kids = node[qname];
  if (Array.isArray(kids)) {
    for (const child of kids as RawNode[]) {
      const name = elementName(child);
      if (name !== undefined) {
        children.push(convert(child, name, scope, lang));
      } else if (typeof child['#text'] === 'string') {
        pushText(children, decodeEntities(child['#text']));
      } else if (Array.isArray(child['#cdata'])) {
        for (const c of child['#cdata'] as RawNode[]) if (typeof c['#text'] === 'string') pushText(children, c['#text']);
      }
    }
  }
  return { ns: ns ?? '', local, prefix, attrs, children, lang };
}

function pushText(children: XmlNode[], text: string): void {
  const last = children.length - 1;
  if (last >= 0 && typeof children[last] === 'string') children[last] += text;
  else children.push(text);
}

/** Child elements only (whitespace and text between elements dropped). */
export const childElements = (el: XmlElement): XmlElement[] => el.children.filter((c): c is XmlElement => typeof c !== 'string');

export const isNamed = (el: XmlElement, ns: string, local: string): boolean => el.ns === ns && el.local === local;

export function findChild(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  for (const c of el.children) if (typeof c !== 'string' && c.ns === ns && c.local === local) return c;
  return undefined;
}

/** Concatenated text content of an element (recursively). */
export function textContent(el: XmlElement): string {
  let s = '';
  for (const c of el.children) s += typeof c === 'string' ? c : textContent(c);
  return s;
}
