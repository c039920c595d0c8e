/**
 * The dead properties of a user whose root is a sub-collection of the served directory: a
 * view of the one property store, so `/x` in the user's view is `<scope>/x` in the store and
 * a user at `/` sees the same properties.
 */
import { FsPropertyStore } from './props.js';

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

  override fileOf(path: string): string {
    return super.fileOf(this.abs(path));
  }
}
