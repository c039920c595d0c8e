/**
 * Smoke test of `npm run bench` (scripts/bench.mjs) at tiny sizes: it must start the compiled
 * server, run every workload without a failed request and print its lines and table. The
 * numbers themselves are not asserted (speed is measured by the benchmark, not by tests).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers/server.js';

/** Runs scripts/bench.mjs with `env` to its end (exit 0 expected): its output, and a reader of its `name value unit` lines. */
async function runBench(env: NodeJS.ProcessEnv): Promise<{ out: string; value: (name: string) => number }> {
  const proc = spawn(process.execPath, [join(repoRoot, 'scripts', 'bench.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  expect(code, out).to.equal(0);
  const value = (name: string): number => {
    const m = new RegExp(`^${name} (\\S+) `, 'm').exec(out);
    expect(m, `${name} line in:\n${out}`).to.not.equal(null);
    return Number(m![1]);
  };
  return { out, value };
}

describe('npm run bench (smoke, tiny sizes)', function () {
  this.timeout(90_000);

  it('runs every workload against a fresh server and prints lines and a table', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    try {
      const env = {
        ...process.env,
        BENCH_SCALE: 'small',
        BENCH_DIR: tmp,
        BENCH_JSON: join(tmp, 'out.json'),
        LARGE_MB: '2',
        PF_FILES: '60',
        TREE_DIRS: '2',
        TREE_FILES: '5',
        CT_FILES: '20',
        DURATION: '1',
        WARMUP: '0',
        CONNS: '4',
        THREADS: '1',
        LOCK_CLIENTS: '2',
        LOCK_SECONDS: '0.5',
        LOCK1_SECONDS: '0.5',
        PF_REPEATS: '1',
        LARGE_TRIES: '1',
        CT_REPEATS: '1',
      };
      const { out, value } = await runBench(env);
      for (const w of ['get_large', 'put_large', 'get_small', 'put_small', 'lock_cycle_1c', 'lock_cycle', 'propfind_d1_10k', 'propfind_dinf_tree', 'copy_tree', 'move_tree', 'delete_tree']) {
        expect(value(w), w).to.be.greaterThan(0);
      }
      for (const e of ['get_small_errors', 'put_small_errors', 'lock_cycle_1c_errors', 'lock_cycle_errors']) expect(value(e), e).to.equal(0);
      expect(out).to.not.match(/^# .*(HTTP|expected|wrong size|->)/m);
      expect(out).to.match(/\| workload +\| +value \| unit \|/);
      const json = JSON.parse(await readFile(join(tmp, 'out.json'), 'utf8')) as { results: { name: string }[] };
      expect(json.results.map((r) => r.name)).to.include('propfind_d1_10k_bytes');
      // the fixture tree is removed afterwards
      const { readdir } = await import('node:fs/promises');
      expect((await readdir(tmp)).filter((n) => n.startsWith('dav-bench-'))).to.deep.equal([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('runs the workloads asked for by name: a big listing, a gzip listing, the page in Chromium', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'bench-named-'));
    try {
      const env = {
        ...process.env,
        BENCH_SCALE: 'small',
        BENCH_DIR: tmp,
        BENCH_WORKLOADS: 'propfind_d1_100k,propfind_gzip,page_2k',
        PF_FILES: '2000',
        PF100K_FILES: '3000',
        PAGE_FILES: '300',
        PF_REPEATS: '1',
      };
      const { out, value } = await runBench(env);
      expect(value('propfind_d1_100k'), 'the listing of 3,000 took some time').to.be.greaterThan(0);
      expect(value('propfind_d1_100k_bytes')).to.be.greaterThan(3000 * 200);
      expect(value('propfind_gzip_smaller'), 'gzip shrinks a listing of 2,000 at least 5x').to.be.greaterThan(5);
      expect(value('propfind_gzip_time_ratio')).to.be.greaterThan(0);
      expect(value('page_2k'), 'the page reached its ready mark').to.be.greaterThan(0);
      expect(out).to.not.match(/^# .*(HTTP|expected|skipped|not gzip|no rows)/m);
      expect(out).to.not.match(/MaxListenersExceededWarning/);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
