/** Fixtures of the identity and sharing tests: a server with htpasswd + users file, and the CLI. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cliPath, makeTempDir, startTestServer, type Res, type TestServer } from '../helpers/server.js';
import { basic, writeHtpasswd } from '../helpers/auth.js';
import { ensureBuilt } from '../helpers/dav.js';
import type { ServerOptions } from '../../src/config.js';

export interface IdentityServer extends TestServer {
  /** Directory holding htpasswd and users.yaml (removed on close). */
  dir: string;
  htpasswd: string;
  users: string;
  /** The server options the CLI needs to find the same store and users. */
  cliOptions: string[];
  as(user: string, password: string): (method: string, path: string, headers?: Record<string, string | number>, body?: string | Buffer) => Promise<Res>;
}

/** A server over a fresh tree with `passwords` in htpasswd and `usersYaml` as the users file. */
export async function startIdentityServer(passwords: Record<string, string>, usersYaml: string, opts: Partial<ServerOptions> = {}): Promise<IdentityServer> {
  const dir = await makeTempDir('identity');
  const root = join(dir, 'root');
  await mkdir(root);
  const htpasswd = await writeHtpasswd(dir, passwords);
  const users = join(dir, 'users.yaml');
  await writeFile(users, usersYaml);
  const s = await startTestServer({ root, htpasswd, users, lockStore: 'memory', ...opts });
  const close = s.close;
  return {
    ...s,
    dir,
    htpasswd,
    users,
    cliOptions: ['--root', root, '--htpasswd', htpasswd, '--users', users, ...(opts.prefix ? ['--prefix', opts.prefix] : [])],
    as: (user, password) => (method, path, headers = {}, body) => s.req(method, path, { headers: { Authorization: basic(user, password), ...headers }, body }),
    close: async () => {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (a management command) and collects its output. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  await ensureBuilt();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A file under the served root. */
export async function put(root: string, rel: string, content: string | Buffer): Promise<void> {
  await mkdir(join(root, rel, '..'), { recursive: true });
  await writeFile(join(root, rel), content);
}

export const hrefsOf = (body: string): string[] => [...body.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!));

export { basic };
