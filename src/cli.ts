#!/usr/bin/env node
/** Command line: flags -> options, checks the root, starts the server, stops cleanly on signals. */
import { parseArgs } from 'node:util';
import { promises as fsp, constants as fsc, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startServer } from './app.js';
import { ConfigError, DEFAULTS, resolveOptions, type ServerOptions } from './config.js';

const HELP = `Usage: koa-webdav-server [options]

Serves a directory over WebDAV (RFC 4918 class 1 and 2).

Options:
  --root DIR               directory to serve (default: ./storage)
  --port N                 TCP port (default: ${DEFAULTS.port}; 0 picks a free one)
  --host H                 address to listen on (default: ${DEFAULTS.host})
  --prefix /PATH           serve under a sub-path, e.g. /dav (default: the URL root)
  --lock-store STORE       memory | file | file:PATH (default: file, <root>/.davmeta/locks.json)
  --lock-timeout SEC       timeout of a LOCK that asks for none (default: ${DEFAULTS.defaultLockTimeout})
  --max-lock-timeout SEC   cap on any lock timeout, Infinite included (default: ${DEFAULTS.maxLockTimeout})
  --max-xml-bytes N        largest XML request body (default: ${DEFAULTS.maxXmlBytes})
  --trust-proxy            trust X-Forwarded-Host/-Proto when matching Destination URLs
  --quiet                  no start-up banner
  -h, --help               show this help
  -v, --version            show the version
`;

function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(`--${name} needs a whole number, got "${v}"`);
  return Number(v);
}

export function parseCli(argv: string[]): Partial<ServerOptions> | 'help' | 'version' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      root: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      prefix: { type: 'string' },
      'lock-store': { type: 'string' },
      'lock-timeout': { type: 'string' },
      'max-lock-timeout': { type: 'string' },
      'max-xml-bytes': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return 'help';
  if (values.version) return 'version';
  return {
    root: values.root,
    port: num('port', values.port),
    host: values.host,
    prefix: values.prefix,
    lockStore: values['lock-store'],
    defaultLockTimeout: num('lock-timeout', values['lock-timeout']),
    maxLockTimeout: num('max-lock-timeout', values['max-lock-timeout']),
    maxXmlBytes: num('max-xml-bytes', values['max-xml-bytes']),
    trustProxy: values['trust-proxy'],
    quiet: values.quiet,
  };
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

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseCli>;
  let options: ServerOptions;
  try {
    parsed = parseCli(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return;
    }
    if (parsed === 'version') {
      process.stdout.write(version() + '\n');
      return;
    }
    options = resolveOptions(parsed);
    await checkRoot(options.root);
  } catch (e) {
    const msg = e instanceof ConfigError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (e as Error).message : String(e);
    process.stderr.write(`koa-webdav-server: ${msg}\n(see --help)\n`);
    process.exit(2);
  }
  let running;
  try {
    running = await startServer(options);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? `port ${options.port} is already in use` : code === 'EACCES' ? `no permission to listen on port ${options.port}` : (e as Error).message;
    process.stderr.write(`koa-webdav-server: cannot start: ${why}\n`);
    process.exit(1);
  }
  if (!options.quiet) {
    process.stdout.write(`WebDAV server listening on ${running.url}\nServing ${options.root}\n`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    if (!options.quiet) process.stdout.write(`${signal}: shutting down\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
