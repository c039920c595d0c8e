/** PathMutex: reader/writer sections over subtrees, fairness without needless waiting. */
import { expect } from 'chai';
import { PathMutex, type Hold } from '../../../src/locks/path-mutex.js';

const w = (path: string): Hold => ({ path, mode: 'write' });
const r = (path: string): Hold => ({ path, mode: 'read' });

/** A section that runs until released, recording when it started. */
function section(m: PathMutex, holds: Hold[], log: string[], name: string): { started: Promise<void>; release: () => void; done: Promise<void> } {
  let release!: () => void;
  let started!: () => void;
  const startedP = new Promise<void>((res) => (started = res));
  const done = m.run(holds, async () => {
    log.push(name);
    started();
    await new Promise<void>((res) => (release = res));
  });
  return { started: startedP, release: () => release(), done };
}

const tick = (): Promise<void> => new Promise((res) => setImmediate(res));

describe('PathMutex', () => {
  it('writers on overlapping paths (ancestor, descendant, same) wait; unrelated ones do not', async () => {
    const m = new PathMutex();
    const log: string[] = [];
    const a = section(m, [w('/a')], log, 'a');
    const ab = section(m, [w('/a/b')], log, 'a/b');
    const root = section(m, [w('/')], log, 'root');
    const c = section(m, [w('/c')], log, 'c');
    await tick();
    expect(log).to.deep.equal(['a', 'c']);
    a.release();
    await ab.started;
    expect(log).to.deep.equal(['a', 'c', 'a/b']);
    ab.release();
    c.release();
    await root.started;
    root.release();
    await Promise.all([a.done, ab.done, c.done, root.done]);
  });

  it('readers share; a writer waits for readers of its subtree; readers of one source run side by side', async () => {
    const m = new PathMutex();
    const log: string[] = [];
    const r1 = section(m, [r('/src'), w('/d1')], log, 'copy1');
    const r2 = section(m, [r('/src'), w('/d2')], log, 'copy2');
    const mv = section(m, [w('/src'), w('/moved')], log, 'move');
    await tick();
    expect(log).to.deep.equal(['copy1', 'copy2']);
    r1.release();
    await tick();
    expect(log).to.deep.equal(['copy1', 'copy2']);
    r2.release();
    await mv.started;
    mv.release();
    await Promise.all([r1.done, r2.done, mv.done]);
  });

  it('a writer queued on / behind a long section does not hold up unrelated writes, and is not starved', async () => {
    const m = new PathMutex();
    const log: string[] = [];
    const copy = section(m, [r('/big'), w('/dst')], log, 'copy');
    const rootWriter = section(m, [w('/')], log, 'root');
    await tick();
    // Unrelated writes go ahead while the root writer waits for the elder COPY.
    const puts = [section(m, [w('/x/1')], log, 'put1'), section(m, [w('/y/2')], log, 'put2')];
    await Promise.all(puts.map((p) => p.started));
    expect(log).to.deep.equal(['copy', 'put1', 'put2']);
    for (const p of puts) p.release();
    await Promise.all(puts.map((p) => p.done));
    copy.release();
    await copy.done;
    // The elder is gone: a newcomer that conflicts with the root writer now queues behind it.
    const late = section(m, [w('/z/3')], log, 'late');
    await rootWriter.started;
    expect(log.slice(-1)).to.deep.equal(['root']);
    rootWriter.release();
    await late.started;
    late.release();
    await Promise.all([rootWriter.done, late.done]);
    expect(log).to.deep.equal(['copy', 'put1', 'put2', 'root', 'late']);
  });

  it('a newcomer that overtook a waiter still makes it wait until it is done (bounded overtaking)', async () => {
    const m = new PathMutex();
    const log: string[] = [];
    const elder = section(m, [w('/a')], log, 'elder');
    const waiter = section(m, [w('/')], log, 'waiter');
    await tick();
    const overtaker = section(m, [w('/b')], log, 'overtaker');
    await overtaker.started;
    elder.release();
    await elder.done;
    await tick();
    expect(log).to.deep.equal(['elder', 'overtaker']);
    // New arrivals now queue behind the waiter (no elder blocks it any more).
    const after = section(m, [w('/c')], log, 'after');
    await tick();
    expect(log).to.deep.equal(['elder', 'overtaker']);
    overtaker.release();
    await waiter.started;
    waiter.release();
    await after.started;
    after.release();
    await Promise.all([waiter.done, after.done, overtaker.done]);
    expect(log).to.deep.equal(['elder', 'overtaker', 'waiter', 'after']);
  });

  it('a section that throws releases its paths', async () => {
    const m = new PathMutex();
    await m.run([w('/a')], async () => Promise.reject(new Error('boom'))).catch(() => undefined);
    let ran = false;
    await m.run([w('/a/b')], async () => {
      ran = true;
    });
    expect(ran).to.equal(true);
    expect(m.size).to.deep.equal({ held: 0, waiting: 0 });
  });
});
