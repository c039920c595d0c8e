/** The storage backend the options name (`--storage fs|memory`), with its start-up and shutdown steps. */
import type { ServerOptions } from '../config.js';
import type { StorageBackend } from './backend.js';
import { ContainedFsBackend } from './fs/contained.js';
import type { SweepReport } from './fs/sweep.js';
import { MemoryBackend } from './memory/backend.js';
import { statWorker } from './fs/stat-batch.js';

export interface StorageHandle {
  storage: StorageBackend;
  /** The start-up sweep of debris left by interrupted writes (nothing to sweep in memory). */
  sweep(startedAt: number): Promise<SweepReport | null>;
  close(): Promise<void>;
}

export async function createStorage(options: ServerOptions): Promise<StorageHandle> {
  if (options.storage === 'memory') {
    const storage = new MemoryBackend();
    return { storage, sweep: async () => null, close: async () => undefined };
  }
  // The fs worker's client is one per process: --fs-inline applies to every server in it.
  statWorker.inlineEnabled = options.fsInline !== 'off';
  const storage = new ContainedFsBackend({ root: options.root, fsync: options.fsync });
  await storage.init();
  return { storage, sweep: (at) => storage.sweepStale(at), close: () => storage.close() };
}
