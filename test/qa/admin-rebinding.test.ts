/**
 * The admin listener on loopback under DNS rebinding: a page whose own name now resolves to
 * 127.0.0.1 reaches it with that name in Host, and must not read /readyz (the root's path) or
 * /metrics. Loopback names, address literals and --allowed-hosts still work.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { startServer, type RunningServer } from '../../src/app.js';
import { makeTempDir, request } from '../helpers/server.js';

describe('qa: the admin listener refuses rebound host names', () => {
  let dir: string;
  let running: RunningServer;
  let admin: string;
  before(async () => {
    dir = await makeTempDir('qa-admin');
    running = await startServer({ root: dir, host: '127.0.0.1', port: 0, quiet: true, adminPort: 0, lockStore: 'memory', allowedHosts: 'nas.lan' }, { log: () => undefined });
    admin = running.admin!.url.replace(/\/$/, '');
  });
  after(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 421 to a foreign Host on /readyz, /metrics and /healthz, and leaks nothing', async () => {
    for (const path of ['/readyz', '/metrics', '/healthz']) {
      const r = await request(admin, 'GET', path, { headers: { Host: `attacker.example:${running.admin!.port}` } });
      expect(r.status, path).to.equal(421);
      expect(r.body).to.not.include(dir);
      expect(r.body).to.not.include('webdav_');
    }
  });

  it('serves loopback names, address literals and --allowed-hosts', async () => {
    for (const host of ['127.0.0.1', 'localhost', 'prom.localhost', '[::1]', '10.1.2.3', 'nas.lan']) {
      const r = await request(admin, 'GET', '/readyz', { headers: { Host: `${host}:${running.admin!.port}` } });
      expect(r.status, host).to.equal(200);
      expect(r.body).to.match(/^ready\n/);
    }
  });
});
