/** The storage conformance suite over every backend: the filesystem (as served) and memory. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describeStorageBackend } from './conformance.js';
import { ContainedFsBackend } from '../../../src/storage/fs/contained.js';
import { MemoryBackend } from '../../../src/storage/memory/backend.js';
import { makeTempDir } from '../../helpers/server.js';
import { run, requireProgram } from '../../helpers/run.js';

describeStorageBackend('filesystem', async () => {
  const root = await makeTempDir('conformance');
  const storage = new ContainedFsBackend({ root });
  await storage.init();
  const immutable: string[] = [];
  return {
    storage,
    // An immutable file (chattr +i) cannot be unlinked, even by root.
    failRemove: async (path) => {
      const file = join(root, path);
      const r = await run(requireProgram('chattr', 'e2fsprogs'), ['+i', file]);
      if (r.code !== 0) throw new Error(`chattr +i failed (needs root on ext4/xfs/btrfs): ${r.output}`);
      immutable.push(file);
    },
    cleanup: async () => {
      for (const f of immutable) await run('chattr', ['-i', f]);
      await storage.close();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
});

describeStorageBackend('memory', async () => {
  const storage = new MemoryBackend();
  return {
    storage,
    failRemove: async (path) => void storage.failures.set(path, { op: 'remove', kind: 'forbidden' }),
    cleanup: async () => undefined,
  };
});
