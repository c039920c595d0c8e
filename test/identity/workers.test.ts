/**
 * App passwords and share links with `--workers 2` over Redis: made with the CLI (pointed at the
 * same Redis), they work on every worker, and once revoked they are refused on every worker at
 * the very next request (no worker keeps them in a cache). The worker that answered is told by the process tag of
 * X-Request-Id.
 */
import { expect } from 'chai';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { TestRedis } from '../redis/redis-server.js';
import { cli } from './helpers.js';
import { requestFrom } from '../security/helpers.js';
import { ensureBuilt } from '../helpers/dav.js';

describe('identity: app passwords on --workers 2 over Redis', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let dir: string;
  let server: CliServer;
  let options: string[];

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt(); // the CLI runs from dist/
    redis = await TestRedis.start();
    dir = await makeTempDir('ap-workers');
    const root = join(dir, 'root');
    await mkdir(root);
    await writeFile(join(root, 'a.txt'), 'A');
    const htpasswd = await writeHtpasswd(dir, { alice: 'main-pw' });
    options = ['--root', root, '--htpasswd', htpasswd, '--lock-store', redis.url];
    server = await spawnCli([...options, '--port', '0', '--workers', '2']);
  });
  after(async () => {
    await server?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Statuses of `n` GETs, each on a new connection, and the workers (process tags) that answered. */
  async function tryAll(password: string, n = 10): Promise<{ statuses: number[]; workers: Set<string> }> {
    const statuses: number[] = [];
    const workers = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await request(server.base, 'GET', '/a.txt', { headers: { Authorization: basic('alice', password) } });
      statuses.push(r.status);
      workers.add(String(r.headers['x-request-id']).split('-')[0]!);
    }
    return { statuses, workers };
  }

  it('works on every worker, and after revoke is refused on every worker at once', async () => {
    const made = await cli(['app-password', 'add', 'alice', '--label', 'sync', ...options]);
    expect(made.code, made.stderr).to.equal(0);
    const password = made.stdout.trim();
    const before = await tryAll(password);
    expect(before.statuses).to.deep.equal(Array(10).fill(200));
    expect(before.workers.size).to.equal(2);
    const revoked = await cli(['app-password', 'revoke', 'alice', 'sync', ...options]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    // Fewer than --auth-max-failures (10): each refusal counts as a failed login.
    const after = await tryAll(password, 8);
    expect(after.statuses).to.deep.equal(Array(8).fill(401));
    expect(after.workers.size).to.equal(2);
    expect((await tryAll('main-pw', 4)).statuses).to.deep.equal(Array(4).fill(200));
  });

  it('a share link works on every worker, and after revoke is 404 on every worker at once', async () => {
    const made = await cli(['share', 'add', '--user', 'alice', '/a.txt', ...options]);
    expect(made.code, made.stderr).to.equal(0);
    const link = made.stdout.trim().split('\n').pop()!;
    const fetchAll = async (n: number): Promise<{ statuses: number[]; workers: Set<string> }> => {
      const statuses: number[] = [];
      const workers = new Set<string>();
      // Another address than the test above: unknown tokens count as failed guesses.
      for (let i = 0; i < n; i++) {
        const r = await requestFrom('127.0.0.21', server.base, 'GET', `${link}a.txt`);
        statuses.push(r.status);
        workers.add(String(r.headers['x-request-id']).split('-')[0]!);
      }
      return { statuses, workers };
    };
    const before = await fetchAll(8);
    expect(before.statuses).to.deep.equal(Array(8).fill(200));
    expect(before.workers.size).to.equal(2);
    expect((await cli(['share', 'revoke', link.split('/')[3]!, ...options])).code).to.equal(0);
    const after = await fetchAll(8);
    expect(after.statuses).to.deep.equal(Array(8).fill(404));
    expect(after.workers.size).to.equal(2);
  });
});
