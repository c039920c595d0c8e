/**
 * One-shot filesystem requests done on the event loop while the fs worker is idle
 * (src/storage/fs/stat-batch.ts, "Done inline"): the same answers as the worker's, over a real
 * directory; the worker still takes requests when many come at once, while it has calls
 * waiting, and for directories to remove; a kind of request that is slow twice in a short while goes to
 * the worker for a while. A client alone on a real server gets its LOCK, PUT and UNLOCK done
 * without a round trip to the worker.
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { statWorker, InlineGate, INLINE_PER_TURN, INLINE_SLOW_MS, INLINE_BACKOFF_MS, INLINE_BACKOFF_MAX_MS, INLINE_WINDOW, Kind, LIST_FIELDS } from '../../../src/storage/fs/stat-batch.js';
import { SMALL_SLOT } from '../../../src/storage/fs/worker/protocol.js';
import { makeTempDir, startTestServer } from '../../helpers/server.js';

/** A new turn of the event loop: each turn has its own share of inline requests. */
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('fs requests done inline', function () {
  this.timeout(30_000);
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('fs-inline');
    // What inline requests answer, whatever the load on this machine (the gate: its own test).
    statWorker.resetInline(Infinity);
  });
  afterEach(async () => {
    statWorker.inlineEnabled = true;
    statWorker.resetInline();
    await fsp.rm(root, { recursive: true, force: true });
  });

  /** Runs `op` once inline and once on the worker (same fixture) and returns both answers. */
  async function both<T>(op: () => Promise<T> | null, reset?: () => Promise<void>): Promise<{ inline: T; worker: T }> {
    await nextTurn();
    const before = statWorker.inlineDone;
    const inline = await op();
    expect(statWorker.inlineDone - before, 'done inline').to.equal(1);
    expect(inline, 'answered').to.not.equal(null);
    await reset?.();
    statWorker.inlineEnabled = false;
    try {
      const queued = op();
      expect(statWorker.queued, 'sent to the worker').to.equal(1);
      const worker = await queued;
      expect(statWorker.inlineDone - before, 'nothing more inline').to.equal(1);
      return { inline: inline as T, worker: worker as T };
    } finally {
      statWorker.inlineEnabled = true;
    }
  }

  it('answers stats as the worker does: files, folders, links followed or not, misses', async () => {
    await fsp.mkdir(join(root, 'd'));
    await fsp.writeFile(join(root, 'd', 'f'), 'abc');
    await fsp.symlink(join(root, 'd'), join(root, 'link'));
    expect(spawnSync('mkfifo', [join(root, 'pipe')]).status).to.equal(0);
    for (const [p, follow, kind] of [
      ['d/f', false, Kind.File],
      ['d', false, Kind.Directory],
      ['link', true, Kind.Directory],
      ['pipe', false, Kind.Special],
      ['missing', false, Kind.Missing],
      ['d/f/below', false, Kind.Missing],
    ] as const) {
      const { inline, worker } = await both(() => statWorker.stat(join(root, p), follow));
      expect(inline!.code, p).to.equal(undefined);
      expect(inline!.fields[0], p).to.equal(kind);
      expect([...inline!.fields], p).to.deep.equal([...worker!.fields]);
    }
    const link = await both(() => statWorker.stat(join(root, 'link'), false));
    expect(link.inline!.fields[LIST_FIELDS - 1], 'marked as a link').to.equal(1);
    expect([...link.inline!.fields]).to.deep.equal([...link.worker!.fields]);
  });

  it('reads small files as the worker does, and never opens a FIFO for reading', async () => {
    await fsp.writeFile(join(root, 'small'), Buffer.alloc(4096, 9));
    await fsp.writeFile(join(root, 'big'), Buffer.alloc(SMALL_SLOT + 1, 7));
    expect(spawnSync('mkfifo', [join(root, 'pipe')]).status).to.equal(0);
    const small = await both(() => statWorker.readSmall(join(root, 'small'), SMALL_SLOT));
    expect(Buffer.compare(small.inline!.body!, Buffer.alloc(4096, 9))).to.equal(0);
    expect(Buffer.compare(small.worker!.body!, small.inline!.body!)).to.equal(0);
    const big = await both(() => statWorker.readSmall(join(root, 'big'), SMALL_SLOT));
    expect(big.inline!.body).to.equal(null);
    expect(big.inline!.stat[1]).to.equal(SMALL_SLOT + 1);
    const missing = await both(() => statWorker.readSmall(join(root, 'missing'), SMALL_SLOT));
    expect(missing.inline!.code).to.equal('ENOENT');
    expect(missing.worker!.code).to.equal('ENOENT');
    // A FIFO with no writer: the event loop must not block on it (this test would hang).
    const pipe = await both(() => statWorker.readSmall(join(root, 'pipe'), SMALL_SLOT));
    expect(pipe.inline!.body).to.equal(null);
    expect(pipe.inline!.stat[0]).to.equal(Kind.Special);
    expect(pipe.worker!.stat[0]).to.equal(Kind.Special);
  });

  it('writes as the worker does: small PUTs, metadata files, journal appends, renames', async () => {
    const target = join(root, 'f.txt');
    const put = await both(
      () => statWorker.putSmall(join(root, '.t1'), target, Buffer.from('one'), true),
      () => fsp.rm(target),
    );
    expect(put.inline!.code).to.equal(undefined);
    expect(put.inline!.created).to.equal(1);
    expect(put.worker!.created).to.equal(1);
    expect(await fsp.readFile(target, 'utf8')).to.equal('one');
    const again = await statWorker.putSmall(join(root, '.t2'), target, Buffer.from('two'), true);
    expect(again!.created, 'replaced').to.equal(0);
    expect(await fsp.readdir(root)).to.deep.equal(['f.txt']);

    const rec = join(root, 'a', 'b', 'rec');
    const write = await both(() => statWorker.writeFile(join(root, 'a', 'b', `t${Math.random()}`), rec, 'record'), () => fsp.rm(join(root, 'a'), { recursive: true }));
    expect(write.inline!.code).to.equal(undefined);
    expect(await fsp.readFile(rec, 'utf8')).to.equal('record');

    const journal = join(root, 'journal');
    await both(() => statWorker.append(journal, 'x\n'));
    expect(await fsp.readFile(journal, 'utf8')).to.equal('x\nx\n');

    const moved = await both(
      () => statWorker.renameAll([[rec, join(root, 'c', 'rec')]]),
      () => fsp.rename(join(root, 'c', 'rec'), rec),
    );
    expect(moved.inline!.code).to.equal(undefined);
    expect(await fsp.readFile(join(root, 'c', 'rec'), 'utf8')).to.equal('record');
    // a failure is reported, not thrown (the caller falls back): a temp name that is taken
    await fsp.writeFile(join(root, 'taken'), 'x');
    await nextTurn();
    expect((await statWorker.writeFile(join(root, 'taken'), rec, 'y'))!.code).to.equal('EEXIST');
    expect(await fsp.readFile(join(root, 'taken'), 'utf8')).to.equal('x');
  });

  it('removes files and links inline, and leaves a directory to the worker', async () => {
    await fsp.writeFile(join(root, 'f'), '');
    await fsp.symlink('f', join(root, 'link'));
    await nextTurn();
    let before = statWorker.inlineDone;
    const files = await statWorker.removeAll([join(root, 'f'), join(root, 'link'), join(root, 'missing')]);
    expect(files!.code).to.equal(undefined);
    expect(statWorker.inlineDone - before).to.equal(1);
    expect(await fsp.readdir(root)).to.deep.equal([]);
    // nothing there (the usual case: side data of a new file), below a file too
    await fsp.writeFile(join(root, 'g'), '');
    await nextTurn();
    before = statWorker.inlineDone;
    expect((await statWorker.removeAll([join(root, 'missing'), join(root, 'g', 'below')]))!.code).to.equal(undefined);
    expect(statWorker.inlineDone - before).to.equal(1);
    expect(await fsp.readdir(root)).to.deep.equal(['g']);
    await fsp.rm(join(root, 'g'));

    // A directory may hold a million files: that is the worker's job, never the event loop's.
    await fsp.mkdir(join(root, 'd', 'e'), { recursive: true });
    for (let i = 0; i < 50; i++) await fsp.writeFile(join(root, 'd', 'e', `f${i}`), '');
    await nextTurn();
    before = statWorker.inlineDone;
    const asked = statWorker.removeAll([join(root, 'missing'), join(root, 'd')]);
    expect(statWorker.queued).to.equal(1);
    expect((await asked)!.code).to.equal(undefined);
    expect(statWorker.inlineDone - before).to.equal(0);
    expect(await fsp.readdir(root)).to.deep.equal([]);
  });

  it('sends requests to the worker when many come in one turn', async () => {
    for (let i = 0; i < 40; i++) await fsp.writeFile(join(root, `f${i}`), Buffer.alloc(i));
    await nextTurn();
    const before = statWorker.inlineDone;
    const asked = Array.from({ length: 40 }, (_, i) => statWorker.stat(join(root, `f${i}`), false)!);
    // The first ones were done at once; once one request went to the worker, the rest follow it.
    expect(statWorker.inlineDone - before).to.equal(INLINE_PER_TURN);
    expect(statWorker.queued).to.equal(40 - INLINE_PER_TURN);
    const answers = await Promise.all(asked);
    answers.forEach((r, i) => {
      expect(r!.fields[0]).to.equal(Kind.File);
      expect(r!.fields[1], `size of f${i}`).to.equal(i);
    });
    // and the next turn has its share again
    await nextTurn();
    await statWorker.stat(join(root, 'f1'), false);
    expect(statWorker.inlineDone - before).to.equal(INLINE_PER_TURN + 1);
  });

  it('sends requests to the worker while it has calls waiting, so they keep their order', async () => {
    await fsp.writeFile(join(root, 'f'), 'abc');
    await nextTurn();
    const before = statWorker.inlineDone;
    statWorker.inlineEnabled = false;
    const first = statWorker.append(join(root, 'j'), 'one\n')!;
    statWorker.inlineEnabled = true;
    // The worker has not answered yet: this append must come after the first, not before it.
    const second = statWorker.append(join(root, 'j'), 'two\n')!;
    expect(statWorker.queued).to.equal(2);
    await Promise.all([first, second]);
    expect(statWorker.inlineDone - before).to.equal(0);
    expect(await fsp.readFile(join(root, 'j'), 'utf8')).to.equal('one\ntwo\n');
  });

  it('switches a kind of request off after two slow ones close together, for a back-off that doubles', () => {
    const gate = new InlineGate();
    const slow = INLINE_SLOW_MS + 5;
    const fast = 0.01;
    expect(gate.open(0)).to.equal(true);
    // one slow request alone (a garbage collection in the middle) changes nothing, and neither
    // does another once a whole window of fast ones has passed
    gate.took(0, slow);
    for (let i = 0; i < INLINE_WINDOW - 1; i++) gate.took(1, fast);
    gate.took(2, slow);
    expect(gate.open(3)).to.equal(true);
    // two within the window (a disk answering some requests from its cache and not others):
    // off until the back-off has passed
    for (let i = 0; i < 3; i++) gate.took(3, fast);
    gate.took(30, slow);
    expect(gate.open(40)).to.equal(false);
    expect(gate.open(30 + slow + INLINE_BACKOFF_MS - 1)).to.equal(false);
    let t = 30 + slow + INLINE_BACKOFF_MS;
    expect(gate.open(t)).to.equal(true);
    // still slow when tried again (the window starts empty): off for twice as long
    gate.took(t, slow);
    gate.took(t + 10, slow);
    expect(gate.open(t + 10 + slow + 2 * INLINE_BACKOFF_MS - 1)).to.equal(false);
    t += 10 + slow + 2 * INLINE_BACKOFF_MS;
    expect(gate.open(t)).to.equal(true);
    // a whole window of fast ones: the back-off starts over
    for (let i = 0; i < INLINE_WINDOW; i++) gate.took(t, fast);
    gate.took(t + 1, slow);
    gate.took(t + 2, slow);
    expect(gate.open(t + 2 + slow + INLINE_BACKOFF_MS)).to.equal(true);
    expect(gate.slow, 'slow ones counted').to.equal(7);
    // a disk that seeks for every other request: back on after the back-off, the fast requests
    // in between must not start the back-off over, so it keeps doubling
    const seeks = new InlineGate();
    let at = 0;
    const offFor: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; seeks.open(at); i++, at += 1) seeks.took(at, i % 2 ? slow : fast);
      offFor.push(seeks.offUntil - (at - 1)); // from the request that tripped it
      at = seeks.offUntil;
    }
    expect(offFor).to.deep.equal([1, 2, 4, 8].map((k) => k * INLINE_BACKOFF_MS + slow));
    // never longer than the ceiling
    const stuck = new InlineGate();
    let now = 0;
    for (let i = 0; i < 40; i++) {
      stuck.took(now, slow);
      stuck.took(now, slow);
      expect(stuck.offUntil - now - slow).to.be.at.most(INLINE_BACKOFF_MAX_MS);
      now = stuck.offUntil;
    }
  });

  it('sends a kind to the worker once its gate is off, and the other kind stays inline', async () => {
    await fsp.writeFile(join(root, 'f'), 'abc');
    // Every request counts as slow: two metadata requests turn metadata off.
    statWorker.resetInline(0);
    await nextTurn();
    const before = statWorker.inlineDone;
    for (let i = 0; i < 2; i++) {
      await statWorker.stat(join(root, 'f'), false);
      await nextTurn();
    }
    expect(statWorker.inlineDone - before).to.equal(2);
    expect(statWorker.inlineSlow).to.equal(2);
    const third = statWorker.stat(join(root, 'f'), false)!;
    expect(statWorker.queued, 'the third went to the worker').to.equal(1);
    expect((await third)!.fields[0]).to.equal(Kind.File);
    await nextTurn();
    // the journal append has a gate of its own, still open
    await statWorker.append(join(root, 'j'), 'x\n');
    expect(statWorker.inlineDone - before).to.equal(3);
  });

  it('--fs-inline off keeps every request on the worker; a value other than on or off is refused', async () => {
    const s = await startTestServer({ root, fsInline: 'off' });
    try {
      const before = statWorker.inlineDone;
      expect((await s.req('PUT', '/f.txt', { body: 'one' })).status).to.equal(201);
      expect((await s.req('GET', '/f.txt')).body).to.equal('one');
      const lock = await s.req('LOCK', '/f.txt', { headers: { 'Content-Type': 'application/xml', Depth: '0' }, body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' });
      expect(lock.status).to.equal(200);
      expect((await s.req('UNLOCK', '/f.txt', { headers: { 'Lock-Token': lock.headers['lock-token'] as string } })).status).to.equal(204);
      expect(statWorker.inlineDone - before, 'nothing done inline').to.equal(0);
    } finally {
      await s.close();
    }
    let refused: unknown;
    try {
      await startTestServer({ root, fsInline: 'sometimes' });
    } catch (e) {
      refused = e;
    }
    expect(String(refused)).to.match(/invalid fs-inline: sometimes \(use on or off\)/);
  });

  it('a client alone on a real server gets LOCK, PUT and UNLOCK done without the worker', async () => {
    const s = await startTestServer({ root });
    try {
      await s.req('PUT', '/f.txt', { body: 'first' });
      const lockBody = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
      const before = statWorker.inlineDone;
      for (let i = 0; i < 5; i++) {
        const lock = await s.req('LOCK', '/f.txt', { headers: { 'Content-Type': 'application/xml', Depth: '0' }, body: lockBody });
        expect(lock.status).to.equal(200);
        const token = lock.headers['lock-token'] as string;
        const put = await s.req('PUT', '/f.txt', { headers: { If: `(${token})` }, body: `cycle ${i}` });
        expect(put.status).to.equal(204);
        expect(put.headers.etag).to.be.a('string');
        expect((await s.req('UNLOCK', '/f.txt', { headers: { 'Lock-Token': token } })).status).to.equal(204);
        const get = await s.req('GET', '/f.txt');
        expect(get.body).to.equal(`cycle ${i}`);
        expect(get.headers.etag).to.equal(put.headers.etag);
      }
      // Each cycle: LOCK's stat and journal append, PUT's stat, write and side data, UNLOCK's append.
      expect(statWorker.inlineDone - before).to.be.at.least(5 * 6);
      // and what it did is on disk: the journal says the lock came and went
      const journal = await fsp.readFile(join(root, '.davmeta', 'locks.json.journal'), 'utf8').catch(() => '');
      const ops = journal.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { op: string }).op);
      expect(ops.filter((o) => o === 'put')).to.have.length(ops.filter((o) => o === 'del').length);
    } finally {
      await s.close();
    }
  });
});
