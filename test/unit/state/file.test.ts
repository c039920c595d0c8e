import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStateStore } from '../../../src/state/file.js';
import { makeTempDir, repoRoot } from '../../helpers/server.js';
import { describeStateStore } from './conformance.js';

describeStateStore('file', async () => {
  const dir = await makeTempDir('state');
  const store = new FileStateStore(join(dir, 'state'));
  return {
    store,
    other: async () => new FileStateStore(join(dir, 'state')),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const CHILD = `
import { FileStateStore } from ${JSON.stringify(join(repoRoot, 'src/state/file.ts'))};
const s = new FileStateStore(process.argv[2], { sweepIntervalMs: 0 });
await Promise.all(Array.from({ length: 25 }, () => s.incr('t:procs', { ttlMs: 60000 })));
await s.close();
`;

describe('FileStateStore across processes and on disk', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await makeTempDir('state-procs')));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('four processes incrementing one counter lose no increment', async () => {
    const script = join(dir, 'child.mts');
    await writeFile(script, CHILD);
    const state = join(dir, 'state');
    const codes = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', script, state], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
        p.once('exit', resolve);
      })),
    );
    expect(codes).to.deep.equal([0, 0, 0, 0]);
    const s = new FileStateStore(state);
    expect(await s.get('t:procs')).to.equal(100);
    await s.close();
  });

  it('keeps one file per key under its namespace, removes expired ones in the sweep, and leaves no lock or temp file', async () => {
    let now = 1_000_000;
    const s = new FileStateStore(join(dir, 'state'), { clock: () => now, sweepIntervalMs: 0 });
    await s.set('ns:keep', 1);
    await s.set('ns:gone', 2, { ttlMs: 1000 });
    await s.incr('other:count', { ttlMs: 1000 });
    expect((await readdir(join(dir, 'state'))).sort()).to.deep.equal(['ns', 'other']);
    expect((await readdir(join(dir, 'state', 'ns'))).sort()).to.deep.equal(['gone.json', 'keep.json']);
    now += 1001;
    expect(await s.sweep()).to.equal(2);
    expect(await readdir(join(dir, 'state', 'ns'))).to.deep.equal(['keep.json']);
    expect(await readdir(join(dir, 'state', 'other'))).to.deep.equal([]);
    await s.close();
  });
});
