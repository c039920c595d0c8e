/**
 * The brute-force defender against the real server: failed logins per address and per user
 * name are limited, banned clients get 429 + Retry-After, one log line per ban, the right
 * password from another address keeps working, the flags (and their environment and config
 * file forms) tune or turn it off, and with --workers 2 over Redis the count is shared.
 */
import { expect } from 'chai';
import { Agent } from 'node:http';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, request, spawnCli, type CliServer, type Res } from '../helpers/server.js';
import { ensureBuilt, eventually } from '../helpers/dav.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { TestRedis } from '../redis/redis-server.js';
import { requestFrom } from './helpers.js';

const ALICE = basic('alice', 'right pw');

describe('security: brute-force defender', function () {
  this.timeout(120_000);
  let dir: string;
  let htpasswd: string;
  const running: CliServer[] = [];

  async function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliServer> {
    const root = await makeTempDir('defender-root');
    const cli = await spawnCli(['--root', root, '--port', '0', '--htpasswd', htpasswd, ...args], env);
    running.push(cli);
    return cli;
  }
  const propfind = (cli: CliServer, from: string, auth: string, agent?: Agent): Promise<Res> =>
    requestFrom(from, cli.base, 'PROPFIND', '/', { headers: { Depth: '0', Authorization: auth }, agent });
  const banLines = (cli: CliServer, what: string): string[] => cli.output().split('\n').filter((l) => l.includes('[defender] banned') && l.includes(what));

  before(async () => {
    await ensureBuilt();
    dir = await makeTempDir('defender');
    htpasswd = await writeHtpasswd(dir, { alice: 'right pw', bob: 'bob pw' });
  });
  after(async () => {
    for (const c of running) await c.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('bans an address after --auth-max-failures guesses (429 + Retry-After), logs it once, and lets the right password in from elsewhere', async () => {
    const cli = await serve(['--auth-max-failures', '5', '--auth-ban', '120']);
    const statuses: number[] = [];
    // A guessing client: 40 tries as fast as it can, over one keep-alive connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let last: Res | undefined;
    for (let i = 0; i < 40; i++) {
      last = await propfind(cli, '127.0.0.2', basic('alice', `guess${i}`), agent);
      statuses.push(last.status);
    }
    agent.destroy();
    expect(statuses.slice(0, 4)).to.deep.equal([401, 401, 401, 401]);
    expect(statuses.slice(4)).to.deep.equal(Array(36).fill(429));
    expect(Number(last!.headers['retry-after'])).to.be.within(100, 120);
    // Banned: even the right password from that address waits ...
    expect((await propfind(cli, '127.0.0.2', ALICE)).status).to.equal(429);
    // ... while from another address it works, for alice and for anyone else.
    expect((await propfind(cli, '127.0.0.3', ALICE)).status).to.equal(207);
    expect((await propfind(cli, '127.0.0.3', basic('bob', 'bob pw'))).status).to.equal(207);
    expect(banLines(cli, 'address 127.0.0.2')).to.have.length(1);
    expect(banLines(cli, 'address 127.0.0.2')[0]).to.include('for 120 s after 5 failed logins');
    // The ban is kept in the state store under the hidden metadata folder, not as a listed file.
    const listing = await propfind(cli, '127.0.0.3', ALICE);
    expect(listing.body).to.not.include('davmeta');
  });

  it('a client that already had its header verified keeps working while a guesser shares its address', async () => {
    const cli = await serve(['--auth-max-failures', '3']);
    expect((await propfind(cli, '127.0.0.4', ALICE)).status).to.equal(207);
    for (let i = 0; i < 5; i++) await propfind(cli, '127.0.0.4', basic('bob', `guess${i}`));
    expect((await propfind(cli, '127.0.0.4', basic('bob', 'bob pw'))).status).to.equal(429);
    // alice's header is known good (cached): it is no guess, so the ban does not need to stop it.
    expect((await propfind(cli, '127.0.0.4', ALICE)).status).to.equal(207);
  });

  it('bans a user name guessed from many addresses for those addresses only', async () => {
    const cli = await serve(['--auth-max-failures', '100', '--auth-max-user-failures', '6']);
    for (let i = 0; i < 6; i++) expect((await propfind(cli, `127.0.1.${i + 1}`, basic('alice', `guess${i}`))).status).to.be.oneOf([401, 429]);
    expect((await propfind(cli, '127.0.1.2', ALICE)).status).to.equal(429);
    expect((await propfind(cli, '127.0.1.2', basic('bob', 'bob pw'))).status).to.equal(207);
    expect((await propfind(cli, '127.0.2.1', ALICE)).status).to.equal(207);
    expect(banLines(cli, 'user name "alice"')).to.have.length(1);
  });

  it('is on by default (10 failures), can be turned off, and takes its settings from the environment and a config file', async () => {
    const count401 = async (cli: CliServer, from: string): Promise<number> => {
      let n = 0;
      for (let i = 0; i < 15; i++) if ((await propfind(cli, from, basic('alice', `g${i}`))).status === 401) n++;
      return n;
    };
    expect(await count401(await serve([]), '127.0.3.1')).to.equal(9);
    expect(await count401(await serve(['--auth-max-failures', '0']), '127.0.3.2')).to.equal(15);
    expect(await count401(await serve([], { ...process.env, WEBDAV_AUTH_MAX_FAILURES: '3' }), '127.0.3.3')).to.equal(2);
    const config = join(dir, 'defender.yaml');
    await writeFile(config, 'auth-max-failures: 4\nauth-ban: 30\n');
    const fromFile = await serve(['--config', config]);
    expect(await count401(fromFile, '127.0.3.4')).to.equal(3);
    expect(banLines(fromFile, 'address 127.0.3.4')[0]).to.include('for 30 s');
  });

  describe('with --workers 2 over Redis', () => {
    let redis: TestRedis;
    before(async () => {
      redis = await TestRedis.start();
    });
    after(async () => {
      await redis?.stop();
    });

    it('shares the failure count between workers: the ban comes after exactly --auth-max-failures guesses, logged once and counted once in /metrics', async () => {
      const cli = await serve(['--workers', '2', '--lock-store', redis.url, '--auth-max-failures', '6', '--admin-port', '0']);
      const statuses: number[] = [];
      // A new connection per guess: node:cluster hands them to both workers in turn.
      for (let i = 0; i < 20; i++) statuses.push((await propfind(cli, '127.0.4.1', basic('alice', `guess${i}`))).status);
      expect(statuses.filter((s) => s === 401)).to.have.length(5);
      expect(statuses.slice(5)).to.deep.equal(Array(15).fill(429));
      for (let i = 0; i < 4; i++) expect((await propfind(cli, '127.0.4.2', ALICE)).status).to.equal(207);
      expect(banLines(cli, 'address 127.0.4.1')).to.have.length(1);
      // The admin listener adds up both workers: six failed logins (the sixth is answered 429),
      // one ban, fourteen logins refused unchecked; the right password counts as none of them.
      expect(await eventually(async () => /Admin listener on http/.test(cli.output()), 10_000)).to.equal(true);
      const admin = /Admin listener on (http\S+?)\/?(\s|$)/.exec(cli.output())![1]!;
      const metrics = (await request(admin, 'GET', '/metrics')).body;
      const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect([value('webdav_auth_failures_total'), value('webdav_auth_bans_total'), value('webdav_auth_refused_total')]).to.deep.equal([6, 1, 14]);
    });
  });
});
