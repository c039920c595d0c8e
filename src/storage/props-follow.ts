/**
 * Dead properties follow the tree: the PropertyStore's subscriber to tree events
 * (src/storage/events.ts). A new resource starts without properties, a removed one takes
 * its properties with it, MOVE moves them and COPY copies them.
 */
import type { PropertyStore } from './backend.js';
import type { TreeChange, TreeListener } from './events.js';

export function propsFollowTree(props: PropertyStore): TreeListener {
  return async function deadProperties(changes: readonly TreeChange[]): Promise<void> {
    for (const c of changes) {
      switch (c.type) {
        case 'created':
        case 'removed':
          await props.removeTree(c.path);
          break;
        case 'moved':
          await props.moveTree(c.from, c.to);
          break;
        case 'copied':
          await props.copyTree(c.from, c.to, c.deep);
          break;
        case 'replaced':
          await props.contentReplaced(c.path, c.previousId); // same resource, new content: its properties stay
          break;
      }
    }
  };
}
