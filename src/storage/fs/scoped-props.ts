/**
 * The dead properties of a user whose root is a sub-collection of the served directory: a
 * view of the one property store, so `/x` in the user's view is `<scope>/x` in the store and
 * a user at `/` sees the same properties.
 */
import { join } from 'node:path';
import { FsPropertyStore } from './props.js';
import { baseName, parentPath } from '../../dav/path.js';

export class ScopedPropertyStore extends FsPropertyStore {
  constructor(
    metaDir: string,
    private readonly scope: string,
  ) {
    super(metaDir);
  }

  private abs(path: string): string {
    if (this.scope === '/') return path;
    return path === '/' ? this.scope : this.scope + path;
  }

  override membersDir(path: string): string {
    return super.membersDir(this.abs(path));
  }

  /** The base class derives a member's file from membersDir(parent), already scoped; only `/` differs. */
  override fileOf(path: string): string {
    if (path !== '/' || this.scope === '/') return super.fileOf(path);
    return join(super.membersDir(parentPath(this.scope)), baseName(this.scope) + '.p');
  }
}
