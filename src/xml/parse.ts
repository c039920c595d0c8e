/**
 * Hardened, namespace-aware XML parsing for request bodies (propfind, propertyupdate, lockinfo).
 *
 * fast-xml-parser does the tokenising with entity processing off; this module rejects DTDs
 * (no DOCTYPE means no entity expansion, so no XXE or billion laughs), bounds nesting depth,
 * decodes the five predefined entities and character references itself, and resolves
 * `xmlns` declarations so that callers only ever see `{namespace}local` names.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DavError } from '../errors.js';
import { XML_NS, qkey } from './names.js';

export interface XmlAttr {
  ns: string;
  local: string;
  /** Prefix as written, '' when none. */
  prefix: string;
  value: string;
}

export interface XmlElement {
  ns: string;
  local: string;
  /** Prefix as written, '' when none (then `ns` came from the default namespace). */
  prefix: string;
  /** Attributes other than namespace declarations. */
  attrs: XmlAttr[];
  children: XmlNode[];
  /** xml:lang in scope for this element (inherited from ancestors), if any. */
  lang?: string;
}

export type XmlNode = XmlElement | string;

export interface XmlLimits {
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements?: number;
  /** Attributes on one element. */
  maxAttributes?: number;
  /** Entity and character references (`&...;`) in the whole document. */
  maxReferences?: number;
}

/**
 * Far above what any WebDAV client sends, far below what makes the tokenizer expensive: a
 * 1 MiB body of 150,000 empty elements or character references costs the parser ~30 MB of
 * heap; these caps keep a hostile body to a few MB and a few ms, refused before parsing.
 */
const DEFAULT_LIMITS: XmlLimits = { maxDepth: 64, maxElements: 20_000, maxAttributes: 64, maxReferences: 20_000 };

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
    if (!Number.isFinite(code) || code > 0x10ffff || code === 0 || (code >= 0xd800 && code <= 0xdfff)) {
      throw bad(`undefined entity &${name};`);
    }
    return String.fromCodePoint(code);
  });
}

/**
 * Cheap pre-scan: nesting depth (so a hostile body cannot blow the parser's stack), element
 * and per-element attribute counts, and the number of references, all before the parser runs.
 */
function checkDepth(text: string, maxDepth: number, limits: XmlLimits = DEFAULT_LIMITS): void {
  const maxElements = limits.maxElements ?? Infinity;
  const maxAttributes = limits.maxAttributes ?? Infinity;
  if (limits.maxReferences !== undefined) {
    let refs = 0;
    for (let a = text.indexOf('&'); a !== -1; a = text.indexOf('&', a + 1)) {
      if (++refs > limits.maxReferences) throw bad(`more than ${limits.maxReferences} entity or character references`);
    }
  }
  let depth = 0;
  let elements = 0;
  let i = text.indexOf('<');
  while (i !== -1) {
    const next = text.charCodeAt(i + 1);
    if (next === 0x2f /* / */) depth--;
    else if (next !== 0x21 /* ! */ && next !== 0x3f /* ? */) {
      const close = text.indexOf('>', i);
      if (close === -1) break;
      if (++elements > maxElements) throw bad(`more than ${maxElements} elements`);
      if (maxAttributes !== Infinity) {
        let attrs = 0;
        for (let e = i; e < close; e++) {
          if (text.charCodeAt(e) === 0x3d /* = */ && ++attrs > maxAttributes) throw bad(`more than ${maxAttributes} attributes on one element`);
        }
      }
      if (text.charCodeAt(close - 1) !== 0x2f) {
        depth++;
        if (depth > maxDepth) throw bad(`elements nested deeper than ${maxDepth}`);
      }
      i = text.indexOf('<', close);
      continue;
    }
    i = text.indexOf('<', i + 1);
  }
}

type RawNode = Record<string, unknown>;

/**
 * Parses an XML document and returns its root element with namespaces resolved.
 * Throws DavError(400) for anything that is not well-formed, namespace-valid XML without a DTD.
 */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_LIMITS): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw bad('DOCTYPE and entity declarations are not allowed');
  // The validator lets text after a self-closing root (`<a/>junk`) pass and the parser drops it.
  if (text.slice(text.lastIndexOf('>') + 1).trim() !== '') throw bad('text outside the root element');
  checkDepth(text, limits.maxDepth, limits);
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
    root = convert(node, name, new Map([['xml', XML_NS]]), undefined);
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

function convert(node: RawNode, qname: string, parentScope: Map<string, string>, parentLang: string | undefined): XmlElement {
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let scope = parentScope;
  const plain: [string, string][] = [];
  for (const [name, rawValue] of Object.entries(rawAttrs)) {
    const value = decodeEntities(String(rawValue));
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope === parentScope) scope = new Map(parentScope);
      const prefix = name === 'xmlns' ? '' : name.slice(6);
      // Namespaces in XML 1.0: a prefix cannot be bound to the empty namespace (litmus propfind_invalid2).
      if (prefix !== '' && value === '') throw bad(`prefix "${prefix}" bound to an empty namespace`);
      if (prefix === 'xmlns') throw bad('the xmlns prefix cannot be declared');
      scope.set(prefix, value);
    } else {
      plain.push([name, value]);
    }
  }
  const [prefix, local] = splitName(qname);
  const ns = scope.get(prefix);
  if (ns === undefined) {
    if (prefix !== '') throw bad(`undeclared namespace prefix "${prefix}"`);
  }
  let lang = parentLang;
  const attrs: XmlAttr[] = [];
  const seen = new Set<string>();
  for (const [name, value] of plain) {
    const [ap, al] = splitName(name);
    const ans = ap === '' ? '' : scope.get(ap);
    if (ans === undefined) throw bad(`undeclared namespace prefix "${ap}"`);
    const key = qkey(ans, al);
    if (seen.has(key)) throw bad(`attribute ${name} repeated`);
    seen.add(key);
    if (ans === XML_NS && al === 'lang') lang = value;
    attrs.push({ ns: ans, local: al, prefix: ap, value });
  }
  const el: XmlElement = { ns: ns ?? '', local, prefix, attrs, children: [], lang };
  const kids = node[qname];
  if (Array.isArray(kids)) {
    for (const child of kids as RawNode[]) {
      const name = elementName(child);
      if (name !== undefined) {
        el.children.push(convert(child, name, scope, lang));
      } else if (typeof child['#text'] === 'string') {
        pushText(el, decodeEntities(child['#text']));
      } else if (Array.isArray(child['#cdata'])) {
        for (const c of child['#cdata'] as RawNode[]) if (typeof c['#text'] === 'string') pushText(el, c['#text']);
      }
    }
  }
  return el;
}

function pushText(el: XmlElement, text: string): void {
  const last = el.children.length - 1;
  if (last >= 0 && typeof el.children[last] === 'string') el.children[last] += text;
  else el.children.push(text);
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
