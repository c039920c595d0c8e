/**
 * Slow clients cannot hold the server: request bodies slower than --min-body-rate (after
 * --body-timeout) are cut with 408, a client address cannot open more than
 * --max-client-connections connections, and everyone else keeps working meanwhile.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectNoTempFiles, guardedServer, requestFrom } from './helpers.js';

/** Opens a connection from `from` and resolves once connected. */
function open(port: number, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
    s.once('error', reject);
  });
}

interface Trickle {
  /** What the server wrote back, and when the connection ended (ms after the start). */
  done: Promise<{ text: string; ms: number }>;
  stop(): void;
}

/** A PUT that promises `length` bytes and sends one byte every `everyMs`. */
function trickle(port: number, from: string, path: string, length: number, everyMs: number): Trickle {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let sock: Socket | undefined;
  const done = new Promise<{ text: string; ms: number }>((resolve) => {
    let text = '';
    sock = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      sock!.write(`PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${length}\r\n\r\n`);
      timer = setInterval(() => sock!.writable && sock!.write('x'), everyMs);
    });
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const end = (): void => {
      clearInterval(timer);
      resolve({ text, ms: Date.now() - started });
    };
    sock.on('close', end);
    sock.on('error', () => undefined);
  });
  return {
    done,
    stop: () => {
      clearInterval(timer);
      sock?.destroy();
    },
  };
}

describe('security: slow clients', function () {
  this.timeout(60_000);

  describe('request bodies slower than --min-body-rate', () => {
    const g = guardedServer('slow', undefined, { bodyTimeout: 2, minBodyRate: 1000 });

    it('cuts many trickling uploads with 408 while steady uploads and other requests keep working', async () => {
      const port = g.port;
      const trickles = Array.from({ length: 40 }, (_, i) => trickle(port, '127.0.0.2', `/trickle-${i}.bin`, 100_000, 500));
      try {
        // Meanwhile: a steady upload at 1.5x the minimum rate for 4 s (longer than --body-timeout) ...
        const steady = (async () => {
          const sock = await open(port, '127.0.0.3');
          let text = '';
          sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
          const closed = new Promise((r) => sock.once('close', r));
          const chunk = 'y'.repeat(300);
          sock.write(`PUT /steady.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${chunk.length * 20}\r\n\r\n`);
          for (let i = 0; i < 20; i++) {
            sock.write(chunk);
            await new Promise((r) => setTimeout(r, 200));
          }
          await closed;
          return text;
        })();
        // ... and quick requests from another client.
        for (let i = 0; i < 10; i++) {
          const put = await requestFrom('127.0.0.4', g.srv.base, 'PUT', `/quick-${i}.txt`, { body: `quick ${i}` });
          expect(put.status).to.equal(201);
          expect((await requestFrom('127.0.0.4', g.srv.base, 'GET', `/quick-${i}.txt`)).body).to.equal(`quick ${i}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const results = await Promise.all(trickles.map((t) => t.done));
        for (const r of results) {
          expect(r.text).to.match(/^HTTP\/1\.1 408 /);
          // --body-timeout 2 s + one 1 s check; generous for a loaded machine.
          expect(r.ms).to.be.below(10_000);
        }
        expect(await steady).to.match(/^HTTP\/1\.1 201 /);
        expect(await readFile(join(g.f.root, 'steady.bin'), 'utf8')).to.equal('y'.repeat(6000));
        expect((await readdir(g.f.root)).filter((n) => n.startsWith('trickle'))).to.deep.equal([]);
        await expectNoTempFiles(g.f.root);
        expect(g.srv.running.connectionStats.slowBodies).to.be.at.least(40);
      } finally {
        for (const t of trickles) t.stop();
      }
    });
  });

  describe('connections per client address', () => {
    const g = guardedServer('conncap', undefined, { maxClientConnections: 8 });

    it('refuses connections past the cap with 429, counts per address, and frees slots when connections close', async () => {
      const held = await Promise.all(Array.from({ length: 8 }, () => open(g.port, '127.0.0.5')));
      try {
        const extra = await open(g.port, '127.0.0.5');
        const answer = await new Promise<string>((resolve) => {
          let text = '';
          extra.on('data', (d: Buffer) => (text += d.toString('latin1')));
          extra.on('close', () => resolve(text));
          extra.on('error', () => undefined);
          extra.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        });
        expect(answer).to.match(/^HTTP\/1\.1 429 /);
        expect(answer).to.match(/Retry-After: \d+/);
        // Another client is not affected.
        expect((await requestFrom('127.0.0.6', g.srv.base, 'PROPFIND', '/', { headers: { Depth: '0' } })).status).to.equal(207);
      } finally {
        for (const s of held) s.destroy();
      }
      await new Promise((r) => setTimeout(r, 200));
      expect((await requestFrom('127.0.0.5', g.srv.base, 'PROPFIND', '/', { headers: { Depth: '0' } })).status).to.equal(207);
      expect(g.srv.running.connectionStats.refusedConnections).to.equal(1);
    });
  });
});
