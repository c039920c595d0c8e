/**
 * PROPPATCH (RFC 4918 9.2): instructions run in document order and all-or-nothing; when one
 * fails, it carries its own status and every other property gets 424 Failed Dependency.
 */
import type { DavContext } from '../context.js';
import { DavError } from '../errors.js';
import { fileAtCollectionUrl, href, readXml } from './common.js';
import { withWrite } from '../dav/write.js';
import { MAX_DEAD_PROP_BYTES, MAX_DEAD_PROPS_PER_RESOURCE, MAX_DEAD_PROPS_PER_RESOURCE_BYTES } from '../storage/caps.js';
import { isProtected } from '../dav/live-props.js';
import { DAV_NS, MS_NS } from '../xml/names.js';
import { childElements, isNamed, type XmlElement } from '../xml/parse.js';
import { propTag, serializeAttrs, serializeChildren } from '../xml/write.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN, propstatResponse, type Propstat } from '../xml/multistatus.js';
import type { DeadProperty, PropPatchOp } from '../storage/backend.js';

/** A property element from a PROPPATCH set instruction, kept verbatim. */
export function toDeadProperty(el: XmlElement): DeadProperty {
  const prop: DeadProperty = { ns: el.ns, local: el.local, xml: serializeChildren(el) };
  if (el.lang !== undefined) prop.lang = el.lang;
  const attrs = serializeAttrs(el.attrs);
  if (attrs) prop.attrs = attrs;
  return prop;
}

/** Reads a propertyupdate body into operations, in document order (14.19). */
export function parsePropertyUpdate(root: XmlElement | null): PropPatchOp[] {
  if (!root || !isNamed(root, DAV_NS, 'propertyupdate')) throw new DavError(400, 'Expected a DAV:propertyupdate body');
  const ops: PropPatchOp[] = [];
  for (const instr of childElements(root)) {
    if (instr.ns !== DAV_NS || (instr.local !== 'set' && instr.local !== 'remove')) continue;
    for (const prop of childElements(instr)) {
      if (!isNamed(prop, DAV_NS, 'prop')) continue;
      for (const el of childElements(prop)) {
        ops.push(instr.local === 'set' ? { op: 'set', prop: toDeadProperty(el) } : { op: 'remove', ns: el.ns, local: el.local });
      }
    }
  }
  if (ops.length === 0) throw new DavError(400, 'propertyupdate has no set or remove instruction');
  return ops;
}

const WIN32_EPOCH_MS = Date.UTC(1601, 0, 1);
const YEAR_9999_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * [MS-WDV]: Windows sets a file's times with PROPPATCH of Win32* properties in
 * urn:schemas-microsoft-com: (RFC 1123 dates). They are kept as dead properties, and
 * Win32LastModifiedTime also becomes the file's mtime so getlastmodified follows it.
 * The last valid set instruction wins; an unparseable date is stored but changes nothing.
 */
export function requestedMtime(ops: PropPatchOp[]): number | undefined {
  let ms: number | undefined;
  for (const op of ops) {
    if (op.op !== 'set' || op.prop.ns !== MS_NS || op.prop.local !== 'Win32LastModifiedTime') continue;
    const t = Date.parse(op.prop.xml.trim());
    if (Number.isFinite(t) && t >= WIN32_EPOCH_MS && t <= YEAR_9999_MS) ms = t;
  }
  return ms;
}

const opName = (op: PropPatchOp): { ns: string; local: string } => (op.op === 'set' ? op.prop : op);

const propBytes = (p: DeadProperty): number => Buffer.byteLength(p.xml) + Buffer.byteLength(p.attrs ?? '') + Buffer.byteLength(p.lang ?? '') + p.ns.length + p.local.length;

type Failure = { status: number; error?: string; description?: string };

/**
 * The caps of src/storage/caps.ts: a value over its cap, or a set of instructions that would
 * take the resource past its total, fails with 507 (9.2.1: "insufficient space to record the
 * property") naming the cap, and so every other instruction with 424.
 */
function checkCaps(current: DeadProperty[], ops: PropPatchOp[], failures: Map<number, Failure>): void {
  const after = new Map(current.map((p) => [`{${p.ns}}${p.local}`, p]));
  ops.forEach((op, i) => {
    const n = opName(op);
    if (op.op === 'remove') return void after.delete(`{${n.ns}}${n.local}`);
    if (propBytes(op.prop) > MAX_DEAD_PROP_BYTES) failures.set(i, { status: 507, description: `A property value may hold at most ${MAX_DEAD_PROP_BYTES} bytes` });
    else after.set(`{${n.ns}}${n.local}`, op.prop);
  });
  if (failures.size) return;
  let total = 0;
  for (const p of after.values()) total += propBytes(p);
  if (total <= MAX_DEAD_PROPS_PER_RESOURCE_BYTES && after.size <= MAX_DEAD_PROPS_PER_RESOURCE) return;
  const description = `A resource may carry at most ${MAX_DEAD_PROPS_PER_RESOURCE} dead properties of ${MAX_DEAD_PROPS_PER_RESOURCE_BYTES} bytes in all`;
  ops.forEach((op, i) => {
    if (op.op === 'set') failures.set(i, { status: 507, description });
  });
}

export async function proppatch(ctx: DavContext): Promise<void> {
  const { path, services } = ctx.state;
  const { storage } = services;
  const ops = parsePropertyUpdate(await readXml(ctx));
  const first = await storage.stat(path);
  if (!first || fileAtCollectionUrl(ctx, first)) throw new DavError(404, 'Not found');

  const failures = new Map<number, Failure>();
  ops.forEach((op, i) => {
    const n = opName(op);
    if (isProtected(n.ns, n.local)) failures.set(i, { status: 403, error: 'cannot-modify-protected-property' });
  });

  const info = await withWrite(ctx, { writes: [{ path, effect: 'state' }] }, async ({ info }) => {
    const now = info(path);
    if (!now || fileAtCollectionUrl(ctx, now)) throw new DavError(404, 'Not found');
    if (failures.size > 0) return now;
    checkCaps(await storage.props.get(path), ops, failures);
    if (failures.size > 0) return now;
    await storage.props.patch(path, ops);
    const mtime = requestedMtime(ops);
    // The properties are stored (that is what the 200 reports); the mtime follows when it can.
    if (mtime !== undefined && storage.setMtime) await storage.setMtime(path, mtime).catch(() => undefined);
    return now;
  });

  // One propstat per distinct outcome; a property named twice is reported once, by its last instruction.
  const byName = new Map<string, Failure & { tag: string }>();
  ops.forEach((op, i) => {
    const n = opName(op);
    const outcome = failures.get(i) ?? (failures.size ? { status: 424 } : { status: 200 });
    byName.set(`{${n.ns}}${n.local}`, { ...outcome, tag: propTag(n.ns, n.local).empty });
  });
  const groups = new Map<string, Propstat>();
  for (const o of byName.values()) {
    const key = `${o.status} ${o.error ?? ''} ${o.description ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { status: o.status, props: [], error: o.error, description: o.description }));
    g.props.push(o.tag);
  }
  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = MULTISTATUS_OPEN + propstatResponse(href(ctx, path, info.isCollection), [...groups.values()]) + MULTISTATUS_CLOSE;
}
