/** Test helpers for reading WebDAV answers: a multistatus body as a map of href -> properties. */
import { request as httpRequest } from 'node:http';
import { parseXml, childElements, findChild, textContent, type XmlElement } from '../../src/xml/parse.js';

export const DAV = 'DAV:';
export const MS = 'urn:schemas-microsoft-com:';

export interface PropResult {
  status: number;
  /** Text content of the property element. */
  text: string;
  el: XmlElement;
}

export interface ResponseEntry {
  href: string;
  /** Keyed `{ns}local`. */
  props: Map<string, PropResult>;
  /** Status of a response without propstat. */
  status?: number;
}

const statusOf = (el: XmlElement | undefined): number => Number(/HTTP\/\d\.\d (\d{3})/.exec(el ? textContent(el) : '')?.[1] ?? 0);

/** Parses a 207 body; entries keyed by href exactly as the server wrote it. */
export function parseMultistatus(body: string): Map<string, ResponseEntry> {
  const root = parseXml(body);
  if (root.ns !== DAV || root.local !== 'multistatus') throw new Error(`not a multistatus: ${body.slice(0, 200)}`);
  const out = new Map<string, ResponseEntry>();
  for (const r of childElements(root)) {
    if (r.local !== 'response') continue;
    const href = textContent(findChild(r, DAV, 'href')!);
    const entry: ResponseEntry = { href, props: new Map() };
    const st = findChild(r, DAV, 'status');
    if (st) entry.status = statusOf(st);
    for (const ps of childElements(r)) {
      if (ps.local !== 'propstat') continue;
      const status = statusOf(findChild(ps, DAV, 'status'));
      for (const p of childElements(findChild(ps, DAV, 'prop')!)) entry.props.set(`{${p.ns}}${p.local}`, { status, text: textContent(p), el: p });
    }
    out.set(href, entry);
  }
  return out;
}

/** PROPFIND body asking for the given DAV: properties (and others as {ns}local). */
export function propfindBody(names: string[]): string {
  const tags = names.map((n) => {
    const m = /^\{(.*)\}(.+)$/.exec(n);
    return m ? `<x:${m[2]} xmlns:x="${m[1]}"/>` : `<D:${n}/>`;
  });
  return `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>${tags.join('')}</D:prop></D:propfind>`;
}

export const lockTokenOf = (headers: Record<string, unknown>): string => /<([^>]+)>/.exec(String(headers['lock-token']))![1]!;

/**
 * A PUT whose body goes out with Transfer-Encoding: chunked in several writes (as macOS
 * WebDAVFS sends it), optionally announcing the size in X-Expected-Entity-Length.
 */
export function chunkedPut(base: string, path: string, chunks: Buffer[], headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: 'PUT', path, agent: false, headers: { 'Transfer-Encoding': 'chunked', ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    let i = 0;
    const next = (): void => {
      if (i === chunks.length) return void req.end();
      req.write(chunks[i++]!, () => setImmediate(next));
    };
    next();
  });
}
