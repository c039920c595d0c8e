/** Command line: flags -> options, checks the root, starts the server, stops cleanly on signals (run by cli.ts). */
import { parseArgs } from 'node:util';
import { promises as fsp, constants as fsc, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startServer } from '../app.js';
import { ConfigError, OPTION_SPECS, resolveOptions, type ServerOptions } from '../config.js';
import { isWorker, runPrimary, workerStarted } from '../cluster.js';
import { securityWarnings } from '../auth/options.js';
import { mergeSources } from '../config-file.js';
import { runCommand } from './commands/index.js';

function helpText(): string {
  const rows = OPTION_SPECS.map((o) => [`--${o.flag}${o.arg ? ' ' + o.arg : ''}`, o.help]);
  rows.push(['-c, --config FILE', 'read options from a JSON or YAML file (keys: option names)'], ['-h, --help', 'show this help'], ['-v, --version', 'show the version']);
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 2;
  return `Usage: koa-webdav-server [options]\n       koa-webdav-server doctor [options]   check the root, its filesystem, the lock store and the users file\n\nServes a directory over WebDAV (RFC 4918 class 1 and 2).\n\nOptions:\n${rows
    .map(([f, h]) => `  ${f!.padEnd(width)} ${h}`)
    .join('\n')}\n\nEvery option can also be set in the config file (key: the flag name,\ne.g. "lock-store", or its camelCase form "lockStore") and as an environment variable WEBDAV_<FLAG>\n(e.g. WEBDAV_PORT, WEBDAV_LOCK_STORE; WEBDAV_CONFIG names a config file).\nPrecedence: command line > config file > environment > defaults.\n`;
}

function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

export type CliArgs = Partial<ServerOptions> & { config?: string };

export function parseCli(argv: string[]): CliArgs | 'help' | 'version' {
  const specs: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    config: { type: 'string', short: 'c' },
  };
  for (const o of OPTION_SPECS) specs[o.flag] = { type: o.type === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: specs });
  if (values.help) return 'help';
  if (values.version) return 'version';
  const out: Record<string, unknown> = {};
  for (const o of OPTION_SPECS) {
    const v = values[o.flag];
    if (v === undefined) continue;
    if (o.type === 'int') {
      if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new ConfigError(`--${o.flag} needs a whole number, got "${String(v)}"`);
      out[o.key] = Number(v);
    } else out[o.key] = v;
  }
  if (typeof values.config === 'string') out.config = values.config;
  return out as CliArgs;
}

async function checkRoot(root: string): Promise<void> {
  let st;
  try {
    st = await fsp.stat(root);
  } catch {
    throw new ConfigError(`root directory ${root} does not exist (create it or pass --root DIR)`);
  }
  if (!st.isDirectory()) throw new ConfigError(`root ${root} is not a directory`);
  try {
    await fsp.access(root, fsc.R_OK | fsc.W_OK | fsc.X_OK);
  } catch {
    throw new ConfigError(`root directory ${root} is not readable and writable by this user`);
  }
}

/** Resolves once the server listens (with its start-up sweep, still running), or once a command has run. */
export async function main(): Promise<{ sweep: Promise<unknown> } | undefined> {
  const command = await runCommand(process.argv.slice(2));
  if (command !== null) process.exit(command);
  const doctor = process.argv[2] === 'doctor';
  let parsed: ReturnType<typeof parseCli>;
  let options: ServerOptions;
  try {
    parsed = parseCli(doctor ? process.argv.slice(3) : process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(helpText());
      return undefined;
    }
    if (parsed === 'version') {
      process.stdout.write(version() + '\n');
      return undefined;
    }
    const { config, ...cli } = parsed;
    options = resolveOptions(mergeSources(cli, config, process.env));
    if (doctor) {
      const { runDoctor } = await import('../doctor/index.js');
      process.exit(await runDoctor(options));
    }
    await checkRoot(options.root);
  } catch (e) {
    const msg = e instanceof ConfigError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (e as Error).message : String(e);
    process.stderr.write(`koa-webdav-server: ${msg} (see --help)\n`);
    process.exit(2);
  }
  if (options.workers > 1 && !isWorker()) {
    await runPrimary(options);
    return undefined;
  }
  for (const w of securityWarnings(options)) process.stderr.write(w + '\n');
  let running;
  try {
    running = await startServer(options);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const port = (e as { admin?: boolean }).admin ? `admin port ${options.adminPort}` : `port ${options.port}`;
    const why = code === 'EADDRINUSE' ? `${port} is already in use` : code === 'EACCES' ? `no permission to listen on ${port}` : (e as Error).message;
    process.stderr.write(`koa-webdav-server: cannot start: ${why}\n`);
    process.exit(1);
  }
  if (!options.quiet && !isWorker()) {
    process.stdout.write(`WebDAV server listening on ${running.url}\nServing ${options.root}\n`);
    if (running.admin) process.stdout.write(`Admin listener on ${running.admin.url} (/metrics, /healthz, /readyz)\n`);
  }
  // Graceful stop: stop accepting, let in-flight requests finish (up to --shutdown-timeout),
  // flush the lock store, exit 0. A second signal stops at once.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    if (!options.quiet && !isWorker()) process.stdout.write(`${signal}: shutting down (waiting up to ${options.shutdownTimeout}s for requests in flight)\n`);
    running.shutdown(options.shutdownTimeout * 1000).then(
      (cut) => {
        if (cut > 0) process.stderr.write(`koa-webdav-server: closed ${cut} connection(s) still busy after ${options.shutdownTimeout}s\n`);
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(`koa-webdav-server: error while shutting down: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (isWorker()) await workerStarted(running, stop);
  return { sweep: running.dav.sweep };
}

