/**
 * The published package: `npm pack` ships the compiled code, its type declarations and the
 * page's assets, nothing else; the `exports` map and the `bin` point at files it ships.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server.js';

interface Pack {
  files: { path: string }[];
}

const packDryRun = (): Promise<string[]> =>
  new Promise((resolve, reject) =>
    // With its prepack script, as `npm pack` and `npm publish` run it: a clean build of dist/
    // (mocha runs one file at a time, so no other test uses dist/ meanwhile).
    execFile('npm', ['pack', '--dry-run', '--json'], { cwd: repoRoot, maxBuffer: 16 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve((JSON.parse(stdout) as Pack[])[0]!.files.map((f) => f.path).sort()),
    ),
  );

describe('npm package', function () {
  // Two minutes is a clean tsc (prepack) on a busy machine; more under heavy load.
  this.timeout(300_000);
  let files: string[];
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string } | string>;
    bin: Record<string, string>;
    types: string;
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
  };

  before(async () => {
    // prepack builds dist/ afresh: no ensureBuilt() before it (a second full tsc).
    files = await packDryRun();
  });

  it('lists exactly: package.json, README.md, dist/**/*.js + .d.ts of src/, the page assets, the Redis Lua scripts', () => {
    const assets = ['src/browser/assets/app.css', 'src/browser/assets/app.js', 'src/locks/redis/lua/lock-create.lua'];
    const other = files.filter(
      (f) => !(f === 'package.json' || f === 'README.md' || /^dist\/.+\.(js|d\.ts)$/.test(f) || f.startsWith('src/browser/assets/') || /^src\/locks\/redis\/lua\/[\w-]+\.lua$/.test(f)),
    );
    expect(other, 'files outside the allowed set').to.deep.equal([]);
    for (const a of assets) expect(files).to.include(a);
    // Compiled code of the current sources only: prepack removed what an older build left.
    const dist = files.filter((f) => f.startsWith('dist/'));
    const stale = dist.filter((f) => !existsSync(join(repoRoot, f.replace(/^dist\//, 'src/').replace(/\.(d\.ts|js)$/, '.ts'))));
    expect(stale, 'build output without a source').to.deep.equal([]);
    for (const f of dist.filter((x) => x.endsWith('.js'))) expect(files, `${f} has its declaration`).to.include(f.replace(/\.js$/, '.d.ts'));
    expect(files.filter((f) => /(^|\/)(test|scripts|examples|deploy)\//.test(f) || f.endsWith('.map'))).to.deep.equal([]);
    expect(pkg.scripts.prepack).to.match(/rmSync\('dist'.*tsc -p tsconfig\.json/);
  });

  it('ships every page asset and Lua script, and the code imports only runtime dependencies (sharp, koa, ...)', () => {
    for (const d of ['src/browser/assets', 'src/locks/redis/lua']) {
      for (const f of readdirSync(join(repoRoot, d))) expect(files, `${d}/${f} ships`).to.include(`${d}/${f}`);
    }
    // A package the shipped code imports must be a dependency, not a devDependency, or an
    // installed copy fails to start (e.g. sharp for the page's thumbnails).
    // Only the Node code (dist/): the page's browser scripts import nothing. `tsx` appears in the
    // fs worker's start-up only on the branch taken when running from the TypeScript sources
    // (tests), never from the compiled package.
    const SOURCE_ONLY = new Set(['tsx']);
    const imported = new Set<string>();
    for (const f of files.filter((x) => x.startsWith('dist/') && x.endsWith('.js'))) {
      const code = readFileSync(join(repoRoot, f), 'utf8');
      for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"]([^'"./][^'"]*)['"]/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const pkgName = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!SOURCE_ONLY.has(pkgName)) imported.add(pkgName);
      }
    }
    expect([...imported].filter((p) => !(p in pkg.dependencies)), 'imported but not in dependencies').to.deep.equal([]);
    expect([...imported]).to.include.members(['koa', '@koa/router', 'sharp', 'prom-client', 'ioredis']);
  });

  it('exports the API with its types, and the CLI as bin', async () => {
    const main = pkg.exports['.'] as { types: string; default: string };
    expect(files).to.include(main.default.replace(/^\.\//, ''));
    expect(files).to.include(main.types.replace(/^\.\//, ''));
    expect(pkg.types).to.equal(main.types.replace(/^\.\//, ''));
    expect(files).to.include(pkg.bin['koa-webdav-server']);
    expect(readFileSync(join(repoRoot, pkg.bin['koa-webdav-server']!), 'utf8')).to.match(/^#!\/usr\/bin\/env node\n/);
    // Self-reference through the exports map, as an app that installed the package imports it.
    const api = (await import('koa-webdav-server' as string)) as Record<string, unknown>;
    expect(Object.keys(api).sort()).to.deep.equal(['ConfigError', 'WEBDAV_METHODS', 'createWebdav', 'startServer']);
    expect(api.WEBDAV_METHODS).to.include.members(['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK']);
    const types = readFileSync(join(repoRoot, 'dist', 'index.d.ts'), 'utf8');
    expect(types).to.contain('createWebdav').and.contain('WebdavOptions');
  });
});
