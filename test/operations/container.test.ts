/**
 * Dockerfile and deploy/compose/ (not built here: no Docker daemon in CI). What can be checked
 * without one is: the build copies paths that exist, the image runs as a non-root user, its
 * HEALTHCHECK command (run here as is) says healthy for a ready server and unhealthy for an
 * unready one, the Dockerfile's own COPY and RUN steps, replayed in temp directories on this
 * machine's Node, build a tree that serves (everything but the base image), and the compose
 * file wires two instances to one volume, one Redis and a proxy that knows both.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { parse } from 'yaml';
import { startServer } from '../../src/app.js';
import { makeTempDir, repoRoot, request } from '../helpers/server.js';
import { eventually } from '../helpers/dav.js';

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

  it('the Dockerfile\'s steps, replayed without Docker, build a tree that serves as a non-root user: healthcheck, page, thumbnails', async function () {
    this.timeout(600_000);
    const dir = await makeTempDir('docker-replay');
    const stages = [join(dir, 'build'), join(dir, 'run')];
    const data = join(dir, 'data');
    await Promise.all([...stages, data].map((d) => mkdir(d)));
    // Each stage's WORKDIR is /app: here, a directory per stage.
    const at = (stage: number, p: string): string => (p.startsWith('/app/') ? join(stages[stage]!, p.slice(5)) : join(stages[stage]!, p));
    const sh = (cwd: string, cmd: string): Promise<void> =>
      new Promise((resolve, reject) =>
        // npm ci from the cache CI's own `npm ci` filled (the registry when something is missing).
        execFile('sh', ['-c', cmd], { cwd, env: { ...process.env, npm_config_prefer_offline: 'true' }, maxBuffer: 64 << 20, timeout: 540_000 }, (err, _out, stderr) =>
          err ? reject(new Error(`RUN ${cmd}: ${stderr}`)) : resolve(),
        ),
      );
    let stage = -1;
    const env: Record<string, string> = {};
    let proc: ReturnType<typeof spawn> | undefined;
    try {
      for (const line of instructions) {
        const [op, ...rest] = line.split(' ');
        if (op === 'FROM') stage++;
        else if (op === 'WORKDIR') expect(rest).to.deep.equal(['/app']);
        else if (op === 'ENV' && stage === 1) for (const kv of rest.filter(Boolean)) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
        else if (op === 'COPY') {
          const from = rest[0]!.startsWith('--from=') ? rest.shift()!.slice('--from='.length) : null;
          const dest = rest.pop()!;
          for (const src of rest) {
            const source = from === 'build' ? at(0, src) : join(repoRoot, src);
            const target = dest.endsWith('/') || rest.length > 1 ? join(at(stage, dest), basename(src)) : at(stage, dest);
            await cp(source, target, { recursive: true });
          }
        } else if (op === 'RUN' && stage === 0) await sh(stages[0]!, rest.join(' '));
        // The runtime stage's only RUN makes the /data volume for the node user (here: `data`).
        else if (op === 'RUN') expect(rest.join(' ')).to.equal('mkdir -p /data && chown node:node /data');
      }
      expect(stage).to.equal(1);
      expect(env.WEBDAV_ROOT).to.equal('/data');
      const entry = JSON.parse(/^ENTRYPOINT (.*)$/.exec(instructions.find((l) => l.startsWith('ENTRYPOINT '))!)![1]!) as string[];
      expect(entry[0]).to.equal('node');
      // USER node: an unprivileged uid (nobody here) that owns only the volume.
      const asRoot = process.getuid?.() === 0;
      if (asRoot) {
        await chown(data, 65534, 65534);
        await chmod(dir, 0o755);
      }
      const runEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, WEBDAV_ROOT: data, WEBDAV_HOST: '127.0.0.1', WEBDAV_PORT: '0', WEBDAV_ADMIN_PORT: '0' };
      proc = spawn(process.execPath, entry.slice(1), { cwd: stages[1], env: runEnv, stdio: ['ignore', 'pipe', 'pipe'], ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      let out = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (out += d));
      expect(await eventually(async () => /Admin listener on/.test(out), 15_000), out).to.equal(true);
      const base = /listening on (http:\/\/[\d.:]+)\//.exec(out)![1]!;
      const adminPort = /Admin listener on http:\/\/[\d.]+:(\d+)\//.exec(out)![1]!;
      // The image's HEALTHCHECK command, as is, against it.
      const hc = JSON.parse(/HEALTHCHECK .* CMD (\[.*\])$/.exec(instructions.find((l) => l.startsWith('HEALTHCHECK '))!)![1]!) as string[];
      const healthy = await new Promise<number | null>((resolve) =>
        execFile(process.execPath, hc.slice(1), { env: { ...process.env, WEBDAV_ADMIN_PORT: adminPort } }).once('exit', (c) => resolve(c)),
      );
      expect(healthy).to.equal(0);
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#38a' } }).png().toBuffer();
      expect((await request(base, 'PUT', '/p.png', { body: png })).status).to.equal(201);
      const thumb = await request(base, 'GET', '/p.png?thumb=64', { headers: { Accept: 'image/webp' } });
      expect([thumb.status, thumb.headers['content-type']], out).to.deep.equal([200, 'image/webp']);
      expect((await request(base, 'GET', '/', { headers: { Accept: 'text/html' } })).status).to.equal(200);
      for (const a of await readdir(join(repoRoot, 'src', 'browser', 'assets'))) expect((await request(base, 'GET', `/.dav/assets/${a}`)).status, a).to.equal(200);
      // Production dependencies only: the pruned tree has no dev tools.
      expect(existsSync(join(stages[1]!, 'node_modules', 'typescript'))).to.equal(false);
      expect(existsSync(join(stages[1]!, 'node_modules', 'sharp'))).to.equal(true);
      proc.kill('SIGTERM');
      expect(await new Promise((r) => proc!.once('exit', (c) => r(c)))).to.equal(0);
    } finally {
      if (proc && proc.exitCode === null) proc.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
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
