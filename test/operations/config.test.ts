/**
 * Configuration sources, through the compiled CLI: a JSON or YAML config file (keys are option
 * keys or flag names), WEBDAV_* environment variables, and flags, with flags > file > env.
 * Invalid configuration is one line on stderr and exit code 2.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { cliPath, makeTempDir, request, spawnCli, type CliServer } from '../helpers/server.js';
import { OPTION_SPECS } from '../../src/config.js';
import { envName, optionsFromObject, optionsFromEnv } from '../../src/config-file.js';

/** Environment without any WEBDAV_* variable of the developer's shell. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEBDAV_'))),
  ...extra,
});

function runCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('operations: config file, environment and flags', function () {
  this.timeout(30_000);
  let dir: string;
  let root: string;
  let srv: CliServer | undefined;

  beforeEach(async () => {
    dir = await makeTempDir('config');
    root = join(dir, 'root');
    await fsp.mkdir(root);
  });
  afterEach(async () => {
    await srv?.stop();
    srv = undefined;
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('serves from a YAML config file with flag-name and camelCase keys', async () => {
    const file = join(dir, 'webdav.yaml');
    await fsp.writeFile(file, `# comment\nroot: ${root}\nport: 0\nprefix: /fromyaml\nlock-store: memory\nmaxXmlBytes: 2048\n`);
    srv = await spawnCli(['--config', file], cleanEnv());
    expect(srv.url).to.match(/\/fromyaml\/$/);
    expect((await request(srv.base, 'PUT', '/fromyaml/a.txt', { body: 'x' })).status).to.equal(201);
    const big = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${'<D:getetag/>'.repeat(300)}</D:prop></D:propfind>`;
    expect((await request(srv.base, 'PROPFIND', '/fromyaml/', { body: big })).status).to.equal(413);
    await fsp.access(join(root, '.davmeta', 'locks.json')).then(
      () => expect.fail('lock-store: memory must not write a lock file'),
      () => undefined,
    );
  });

  it('precedence: flags over the config file over the environment', async () => {
    const file = join(dir, 'webdav.json');
    await fsp.writeFile(file, JSON.stringify({ root, port: 0, prefix: '/fromfile' }));
    const env = cleanEnv({ WEBDAV_PREFIX: '/fromenv', WEBDAV_ROOT: root, WEBDAV_PORT: '0' });
    srv = await spawnCli([], env);
    expect(srv.url).to.match(/\/fromenv\/$/);
    await srv.stop();
    srv = await spawnCli(['-c', file], env);
    expect(srv.url).to.match(/\/fromfile\/$/);
    await srv.stop();
    srv = await spawnCli(['-c', file, '--prefix', '/fromflag'], env);
    expect(srv.url).to.match(/\/fromflag\/$/);
    await srv.stop();
    srv = await spawnCli([], cleanEnv({ WEBDAV_CONFIG: file }));
    expect(srv.url).to.match(/\/fromfile\/$/);
  });

  it('accepts every option of OPTION_SPECS under its key, its flag name and its env variable', () => {
    for (const spec of OPTION_SPECS) {
      const value = spec.type === 'int' ? 7 : spec.type === 'boolean' ? true : 'v';
      expect(optionsFromObject({ [spec.flag]: value }, 'f')).to.deep.equal({ [spec.key]: value });
      expect(optionsFromObject({ [spec.key]: value }, 'f')).to.deep.equal({ [spec.key]: value });
      expect(optionsFromEnv({ [envName(spec)]: String(value) })).to.deep.equal({ [spec.key]: value });
    }
  });

  const invalid: [string, () => Promise<{ args: string[]; env?: NodeJS.ProcessEnv }>, RegExp][] = [
    ['an unknown key in the file', async () => ({ args: ['-c', await write('a.yaml', 'porty: 1\n')] }), /unknown option "porty"/],
    ['a wrong type in the file', async () => ({ args: ['-c', await write('a.json', '{"port": "eighty"}')] }), /option "port" needs a whole number/],
    ['malformed JSON', async () => ({ args: ['-c', await write('a.json', '{"port": ')] }), /not valid JSON/],
    ['malformed YAML', async () => ({ args: ['-c', await write('a.yaml', 'port: [1,\n')] }), /not valid YAML/],
    ['a missing config file', async () => ({ args: ['-c', join(dir, 'nope.yaml')] }), /cannot read config file .*ENOENT/],
    ['a list instead of a mapping', async () => ({ args: ['-c', await write('a.yaml', '- 1\n- 2\n')] }), /must hold a mapping/],
    ['a bad env value', async () => ({ args: ['--root', root], env: cleanEnv({ WEBDAV_PORT: 'x' }) }), /WEBDAV_PORT needs a whole number/],
    ['an out-of-range value', async () => ({ args: ['--root', root, '--port', '70000'] }), /invalid port/],
    ['a bad log format', async () => ({ args: ['--root', root, '--log-format', 'xml'] }), /invalid log format/],
    ['an unknown flag', async () => ({ args: ['--bogus'] }), /bogus/],
  ];
  async function write(name: string, text: string): Promise<string> {
    await fsp.writeFile(join(dir, name), text);
    return join(dir, name);
  }
  for (const [what, make, msg] of invalid) {
    it(`rejects ${what} with one line and exit code 2`, async () => {
      const { args, env } = await make();
      const r = runCli(args, env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(msg);
      expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
      expect(r.stdout).to.equal('');
    });
  }

  it('--help lists --config and the environment variables; --version prints the version', () => {
    const help = runCli(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('--config FILE');
    expect(help.stdout).to.include('WEBDAV_PORT');
    for (const spec of OPTION_SPECS) expect(help.stdout).to.include(`--${spec.flag}`);
    const v = runCli(['--version']);
    expect(v.code).to.equal(0);
    expect(v.stdout).to.match(/^\d+\.\d+\.\d+\n$/);
  });
});
