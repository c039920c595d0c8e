/**
 * Critical sections are per path and fair: a long COPY plus a write queued on `/` behind it must
 * not delay unrelated writes elsewhere (on the old mutex every later write anywhere queued behind
 * the `/` writer: 6 ms became 849 ms). Measured as a ratio within one run, with generous margins.
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('reliability: unrelated writes never queue behind a long COPY', function () {
  this.timeout(120_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const putTimes = async (n: number, tag: string): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await s.req('PUT', `/elsewhere/${tag}-${i}.txt`, { body: 'x' });
      out.push(performance.now() - t);
      expect(r.status).to.equal(201);
    }
    return out;
  };

  it('PUTs elsewhere keep their latency while a COPY runs and a PROPPATCH of / waits for it', async () => {
    await fsp.mkdir(join(s.root, 'elsewhere'));
    await fsp.mkdir(join(s.root, 'big'));
    const chunk = Buffer.alloc(64 * 1024, 1);
    await Promise.all(Array.from({ length: 1500 }, (_, i) => fsp.writeFile(join(s.root, 'big', `f${i}`), chunk)));
    const baseline = median(await putTimes(20, 'before'));

    const t0 = performance.now();
    let copyMs = 0;
    const copy = s.req('COPY', '/big', { headers: { Destination: '/big-copy' } }).then((r) => {
      copyMs = performance.now() - t0;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    let rootDone = 0;
    const rootWrite = s
      .req('PROPPATCH', '/', { body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:n>1</Z:n></D:prop></D:set></D:propertyupdate>' })
      .then((r) => {
        rootDone = performance.now() - t0;
        return r;
      });
    await new Promise((r) => setTimeout(r, 20));
    const during: number[] = [];
    while (copyMs === 0 && during.length < 200) during.push(...(await putTimes(1, `during${during.length}`)));
    expect((await copy).status).to.equal(201);
    expect((await rootWrite).status).to.equal(207);
    expect(rootDone, 'the PROPPATCH of / ran after the COPY (it waited, and was not starved)').to.be.at.least(copyMs - 5);
    expect(during.length, `${during.length} PUT(s) elsewhere finished during a ${copyMs.toFixed(0)} ms COPY (each takes a few ms alone)`).to.be.at.least(3);
    const m = median(during);
    if (process.env.FAIRNESS_VERBOSE) console.log({ baseline, during: m, copyMs, puts: during.length });
    // Unrelated PUTs wait for nobody: their median stays far below the COPY's duration (they
    // would wait for all of it if they queued behind the / writer) and within a wide factor of
    // the baseline (the COPY competes for the CPU and the disk, nothing else).
    expect(m, `median PUT ${m.toFixed(1)} ms during a ${copyMs.toFixed(0)} ms COPY`).to.be.below(copyMs / 4);
    expect(m / Math.max(baseline, 1), `median PUT ${m.toFixed(1)} ms during the COPY, ${baseline.toFixed(1)} ms before`).to.be.below(25);
  });
});
