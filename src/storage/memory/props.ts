/** Dead properties in memory: one entry per resource, tree operations by path prefix. */
import type { DeadProperty, PropPatchOp, PropertyStore } from '../backend.js';
import { baseName, isSelfOrDescendant, parentPath } from '../../dav/path.js';
import { qkey } from '../../xml/names.js';

export class MemoryPropertyStore implements PropertyStore {
  private readonly byPath = new Map<string, DeadProperty[]>();

  async get(path: string): Promise<DeadProperty[]> {
    return (this.byPath.get(path) ?? []).map((p) => ({ ...p }));
  }

  async patch(path: string, ops: PropPatchOp[]): Promise<void> {
    const props = new Map((this.byPath.get(path) ?? []).map((p) => [qkey(p.ns, p.local), p]));
    for (const op of ops) {
      if (op.op === 'set') props.set(qkey(op.prop.ns, op.prop.local), { ...op.prop });
      else props.delete(qkey(op.ns, op.local));
    }
    if (props.size === 0) this.byPath.delete(path);
    else this.byPath.set(path, [...props.values()]);
  }

  async membersWithProps(dir: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const p of this.byPath.keys()) if (p !== '/' && parentPath(p) === dir) out.add(baseName(p));
    return out;
  }

  private below(path: string): string[] {
    return [...this.byPath.keys()].filter((p) => isSelfOrDescendant(p, path));
  }

  async removeTree(path: string): Promise<void> {
    for (const p of this.below(path)) this.byPath.delete(p);
  }

  async moveTree(src: string, dst: string): Promise<void> {
    const moving = this.below(src).map((p) => [p, this.byPath.get(p)!] as const);
    await this.removeTree(dst);
    for (const [p] of moving) this.byPath.delete(p);
    for (const [p, v] of moving) this.byPath.set(dst + p.slice(src.length), v);
  }

  async contentReplaced(): Promise<void> {
    // Keyed by path alone: nothing to renew.
  }

  async copyTree(src: string, dst: string, deep: boolean): Promise<void> {
    const copying = (deep ? this.below(src) : this.byPath.has(src) ? [src] : []).map((p) => [p, this.byPath.get(p)!] as const);
    await this.removeTree(dst);
    for (const [p, v] of copying) this.byPath.set(dst + p.slice(src.length), v.map((x) => ({ ...x })));
  }
}
