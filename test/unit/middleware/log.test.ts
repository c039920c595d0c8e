/**
 * The access log never queues without bound: when its output stops taking lines (a stalled pipe,
 * a slow log shipper), lines beyond a backlog are dropped and counted, and the count is written
 * once the output keeps up again. Before, every line waited in memory (the bench's own stalled
 * pipe grew the server by ~100 MiB) and the event loop then spent its time writing the backlog.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { ACCESS_BACKLOG_BYTES, createLogger, type AccessRecord } from '../../../src/middleware/log.js';

const rec = (i: number): AccessRecord => ({ time: '2026-12-01T00:00:00.000Z', id: `r${i}`, remote: '127.0.0.1', method: 'GET', path: `/file-${i}-${'x'.repeat(200)}`, status: 200, bytes: 10, ms: 1, user: null, ua: 'test' });

/** An output that takes nothing until released, then everything. */
function stalled(): { out: Writable; lines: string[]; release: () => void } {
  const lines: string[] = [];
  const held: (() => void)[] = [];
  let open = false;
  const out = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      if (open) cb();
      else held.push(cb);
    },
  });
  return { out, lines, release: () => ((open = true), held.splice(0).forEach((cb) => cb())) };
}

describe('access log backlog', () => {
  it('drops lines past the backlog while the output is stalled, and says how many once it is not', async () => {
    for (const format of ['text', 'json'] as const) {
      const s = stalled();
      const log = createLogger({ format, access: true, out: s.out, err: new Writable({ write: (_c, _e, cb) => cb() }) });
      const n = 40_000; // ~10 MiB of lines
      for (let i = 0; i < n; i++) log.access(rec(i));
      expect(s.out.writableLength, `${format}: the backlog stays bounded`).to.be.at.most(ACCESS_BACKLOG_BYTES + 1024);
      s.release();
      await new Promise((r) => setImmediate(r));
      log.access(rec(n));
      await new Promise((r) => setImmediate(r));
      const all = s.lines.join('');
      const kept = (all.match(/r\d+/g) ?? []).length;
      expect(kept, `${format}: some lines went out`).to.be.greaterThan(1000);
      const m = /(\d+) access lines dropped: the log output was not keeping up/.exec(all);
      expect(m, `${format}: the drop is reported`).to.not.equal(null);
      expect(Number(m![1]) + kept, `${format}: every line written or counted`).to.equal(n + 1);
      if (format === 'json') expect(all).to.contain('"level":"warn"');
    }
  });
});
