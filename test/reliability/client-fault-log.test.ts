import { expect } from 'chai';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/app.js';

/** Sends raw bytes and resolves with what the server answered once it closes the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.end(bytes));
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

describe('Client faults stay out of the error log', () => {
  let root: string;
  let server: RunningServer;
  const logged: unknown[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'webdav-test-faultlog-'));
    server = await startServer({ host: '127.0.0.1', port: 0, quiet: true, root, lockStore: 'memory' }, { log: (err) => logged.push(err) });
  });
  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('an unframed body after a Connection: close request logs nothing and the server keeps serving', async () => {
    // Node's own client sends a DELETE body this way (no Content-Length, no chunking).
    for (const path of ['/missing', '/%ff', '/.davmeta/locks.json', '/']) {
      const answer = await raw(server.port, `DELETE ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n${'junk'.repeat(50)}`);
      expect(answer).to.match(/^HTTP\/1\.1 (4\d\d)/);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(logged.map(String)).to.deep.equal([]);
    expect(await raw(server.port, 'OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).to.match(/^HTTP\/1\.1 200/);
  });
});
