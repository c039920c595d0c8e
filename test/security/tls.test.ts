/**
 * TLS follows Mozilla's "intermediate" profile: TLS 1.2+ with forward-secret AEAD suites only.
 * Checked with `openssl s_client` offering one suite at a time (at security level 0, so the
 * client itself would agree to anything and only the server can refuse). `--hsts` adds
 * Strict-Transport-Security to HTTPS answers.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { makeTempDir, startTestServer, request, type TestServer } from '../helpers/server.js';
import { makeCert } from '../helpers/auth.js';
import { requireProgram, run } from '../helpers/run.js';

describe('security: TLS profile', function () {
  this.timeout(60_000);
  let dir: string;
  let s: TestServer;
  let openssl: string;

  before(async () => {
    openssl = requireProgram('openssl', 'openssl');
    dir = await makeTempDir('tls');
    const { cert, key } = makeCert(dir);
    s = await startTestServer({ tlsCert: cert, tlsKey: key, hsts: 31536000 });
  });
  after(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The suite the server agreed to, or null when the handshake failed. */
  async function handshake(version: string, suite?: string): Promise<string | null> {
    const args = ['s_client', '-connect', `127.0.0.1:${s.running.port}`, version];
    if (suite) args.push(version === '-tls1_3' ? '-ciphersuites' : '-cipher', version === '-tls1_3' ? suite : `${suite}:@SECLEVEL=0`);
    else args.push('-cipher', 'ALL:@SECLEVEL=0');
    const r = await run(openssl, args, { timeoutMs: 15_000 });
    const m = /Cipher is (\S+)/.exec(r.stdout);
    return m && m[1] !== '(NONE)' ? m[1]! : null;
  }

  it('refuses static-RSA key exchange and CBC suites (SHA-1 and SHA-2 MACs)', async () => {
    for (const suite of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'ECDHE-RSA-AES128-SHA256', 'DES-CBC3-SHA']) {
      expect(await handshake('-tls1_2', suite), suite).to.equal(null);
    }
  });

  it('refuses TLS 1.0 and 1.1', async () => {
    expect(await handshake('-tls1')).to.equal(null);
    expect(await handshake('-tls1_1')).to.equal(null);
  });

  it('accepts the forward-secret AEAD suites of TLS 1.2 and TLS 1.3', async () => {
    for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
      expect(await handshake('-tls1_2', suite), suite).to.equal(suite);
    }
    for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
      expect(await handshake('-tls1_3', suite), suite).to.equal(suite);
    }
  });

  it('sends Strict-Transport-Security with --hsts over HTTPS, on errors too', async () => {
    const ok = await request(`https://127.0.0.1:${s.running.port}`, 'OPTIONS', '/');
    expect(ok.headers['strict-transport-security']).to.equal('max-age=31536000');
    const missing = await request(`https://127.0.0.1:${s.running.port}`, 'GET', '/nothing-here');
    expect(missing.status).to.equal(404);
    expect(missing.headers['strict-transport-security']).to.equal('max-age=31536000');
    // The Host check's refusal too (HSTS runs before it).
    const foreign = await request(`https://127.0.0.1:${s.running.port}`, 'GET', '/', { headers: { Host: 'rebind.attacker.example' } });
    expect(foreign.status).to.equal(421);
    expect(foreign.headers['strict-transport-security']).to.equal('max-age=31536000');
  });

  it('never sends it over plain HTTP, unless a trusted proxy says the client used HTTPS', async () => {
    const plain = await startTestServer({ hsts: 600 });
    try {
      expect((await plain.req('OPTIONS', '/')).headers['strict-transport-security']).to.equal(undefined);
    } finally {
      await plain.close();
    }
    const proxied = await startTestServer({ hsts: 600, trustProxy: true });
    try {
      expect((await proxied.req('OPTIONS', '/', { headers: { 'X-Forwarded-Proto': 'https' } })).headers['strict-transport-security']).to.equal('max-age=600');
      expect((await proxied.req('OPTIONS', '/', { headers: { 'X-Forwarded-Proto': 'http' } })).headers['strict-transport-security']).to.equal(undefined);
    } finally {
      await proxied.close();
    }
  });
});
