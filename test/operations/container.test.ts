/**
 * Dockerfile and deploy/compose/ (not built here: no Docker daemon in CI). What can be checked
 * without one is: the build copies paths that exist, the image runs as a non-root user, its
 * HEALTHCHECK command (run here as is) says healthy for a ready server and unhealthy for an
 * unready one, and the compose file wires two instances to one volume, one Redis and a proxy
 * that knows both.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer } from '../../src/app.js';
import { makeTempDir, repoRoot } from '../helpers/server.js';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => /^[A-Z]+ /.test(l));

describe('container image and compose example', () => {
  it('Dockerfile: two stages, only existing paths copied, a non-root user, /readyz as healthcheck', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).to.have.length(2);
    expect(froms[0]).to.match(/ AS build$/);
    for (const copy of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      for (const src of copy.split(' ').slice(1, -1)) expect(existsSync(join(repoRoot, src)), src).to.equal(true);
    }
    // The runtime stage copies from the build stage exactly what the npm package ships, plus node_modules.
    const fromBuild = instructions.filter((l) => l.includes('--from=build')).map((l) => l.split(' ')[2]);
    expect(fromBuild).to.deep.equal(['/app/package.json', '/app/node_modules', '/app/dist', '/app/src/browser/assets', '/app/src/locks/redis/lua']);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { files: string[] };
    for (const shipped of pkg.files.filter((f) => f.startsWith('src/'))) expect(fromBuild, shipped).to.include(`/app/${shipped}`);
    const user = instructions.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).to.equal('USER node');
    expect(instructions.indexOf(user!)).to.be.greaterThan(instructions.indexOf(froms[1]!));
    expect(instructions.find((l) => l.startsWith('HEALTHCHECK '))).to.contain('/readyz');
    expect(instructions.find((l) => l.startsWith('ENTRYPOINT '))).to.equal('ENTRYPOINT ["node", "dist/cli.js"]');
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).to.include.members(['node_modules', 'dist', '.git']);
  });

  it('the HEALTHCHECK command is healthy for a ready server and unhealthy otherwise', async () => {
    const hc = /HEALTHCHECK .* CMD (\[.*\])$/.exec(instructions.find((l) => l.startsWith('HEALTHCHECK '))!)![1]!;
    const [cmd, ...args] = JSON.parse(hc) as string[];
    expect(cmd).to.equal('node');
    const dir = await makeTempDir('healthcheck');
    const root = join(dir, 'data');
    await mkdir(root);
    const running = await startServer({ root, host: '127.0.0.1', port: 0, quiet: true, adminPort: 0, lockStore: 'memory' });
    // Asynchronously: the server answering it runs in this process.
    const check = (): Promise<number | null> =>
      new Promise((resolve) => {
        const p = execFile(process.execPath, args, { env: { ...process.env, WEBDAV_ADMIN_PORT: String(running.admin!.port) }, timeout: 20_000 });
        p.once('exit', (code) => resolve(code));
      });
    try {
      expect(await check()).to.equal(0);
      await rename(root, `${root}-gone`);
      expect(await check()).to.equal(1);
      await rename(`${root}-gone`, root);
      expect(await check()).to.equal(0);
    } finally {
      await running.close();
    }
    expect(await check()).to.equal(1); // nothing listening
    await rm(dir, { recursive: true, force: true });
  });

  it('compose: two instances share one volume and one Redis, behind a proxy that knows both', () => {
    const compose = parse(readFileSync(join(repoRoot, 'deploy', 'compose', 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; volumes?: string[]; command?: string[]; depends_on?: Record<string, unknown> }>;
      volumes: Record<string, unknown>;
    };
    const { dav1, dav2, redis, proxy } = compose.services;
    expect(dav1 && dav2 && redis && proxy).to.not.equal(undefined);
    expect(dav2).to.deep.equal(dav1);
    expect(existsSync(join(repoRoot, 'deploy', 'compose', dav1!.build!.context, dav1!.build!.dockerfile))).to.equal(true);
    expect(dav1!.environment!.WEBDAV_LOCK_STORE).to.equal('redis://redis:6379/0');
    expect(dav1!.volumes).to.include('files:/data');
    expect(dockerfile).to.match(/WEBDAV_ROOT=\/data/);
    expect(Object.keys(compose.volumes)).to.include('files');
    expect(redis!.command).to.include('--appendonly');
    expect(Object.keys(proxy!.depends_on!)).to.have.members(['dav1', 'dav2']);
    const nginx = readFileSync(join(repoRoot, 'deploy', 'compose', 'nginx.conf'), 'utf8');
    expect([...nginx.matchAll(/^\s*server (\w+):8080;/gm)].map((m) => m[1])).to.deep.equal(['dav1', 'dav2']);
    expect(nginx).to.match(/client_max_body_size 0;/).and.match(/proxy_request_buffering off;/);
    for (const mount of proxy!.volumes!.concat(dav1!.volumes!).filter((v) => v.startsWith('./'))) {
      const file = mount.split(':')[0]!;
      if (file !== './htpasswd') expect(existsSync(join(repoRoot, 'deploy', 'compose', file)), file).to.equal(true);
    }
  });
});
