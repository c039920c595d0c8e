/**
 * What the management commands share: they take the server's own options (every flag, `-c FILE`,
 * WEBDAV_* variables, the same precedence), so they find the same state store (files under
 * `<root>/.davmeta/state`, or the Redis of `--lock-store redis://...`), users file and htpasswd
 * file the server uses, whether it is running or not.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { promises as fsp } from 'node:fs';
import { ConfigError, OPTION_SPECS, resolveOptions, type ServerOptions } from '../../config.js';
import { mergeSources } from '../../config-file.js';
import { createStateStore, type StateStore } from '../../state/index.js';
import { META_DIR } from '../../storage/reserved.js';
import { HtpasswdFile } from '../../auth/htpasswd.js';
import { loadUsers, type UserRule } from '../../auth/users.js';

export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

export type FlagSpec = { type: 'string' | 'boolean'; short?: string };

export interface ParsedCommand {
  /** Server options from the command line (merged with the config file and environment later). */
  cli: Partial<ServerOptions>;
  config?: string;
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Splits a command's arguments into server options, the command's own flags and positionals. */
export function parseCommand(argv: string[], own: Record<string, FlagSpec>): ParsedCommand {
  const specs: Record<string, FlagSpec> = { config: { type: 'string', short: 'c' }, ...own };
  for (const o of OPTION_SPECS) if (!specs[o.flag]) specs[o.flag] = { type: o.type === 'boolean' ? 'boolean' : 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: specs, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const cli: Record<string, unknown> = {};
  for (const o of OPTION_SPECS) {
    const v = values[o.flag];
    if (v === undefined || Object.hasOwn(own, o.flag)) continue;
    if (o.type === 'int') {
      if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new ConfigError(`--${o.flag} needs a whole number, got "${String(v)}"`);
      cli[o.key] = Number(v);
    } else cli[o.key] = v;
  }
  const flags: Record<string, string | boolean | undefined> = {};
  for (const k of Object.keys(own)) flags[k] = values[k] as string | boolean | undefined;
  return { cli: cli as Partial<ServerOptions>, config: typeof values.config === 'string' ? values.config : undefined, flags, positionals };
}

/** The server's options as the server would resolve them, with its root checked. */
export async function serverOptions(p: ParsedCommand): Promise<ServerOptions> {
  const options = resolveOptions(mergeSources(p.cli, p.config, process.env));
  try {
    if (!(await fsp.stat(options.root)).isDirectory()) throw new Error();
  } catch {
    throw new ConfigError(`root directory ${options.root} does not exist (pass the server's --root or --config)`);
  }
  return options;
}

/** The state store the server uses (files under `<root>/.davmeta/state`, or Redis). */
export function openState(options: ServerOptions): Promise<StateStore> {
  return createStateStore(options, join(options.root, META_DIR));
}

/** The users file's entries, or null without --users. */
export async function usersOf(options: ServerOptions): Promise<Map<string, UserRule> | null> {
  return options.users ? loadUsers(options.users) : null;
}

/** Refuses a user the server would not let in (not in htpasswd, or not in the users file). */
export async function checkUser(options: ServerOptions, user: string, users: Map<string, UserRule> | null): Promise<void> {
  if (options.htpasswd) {
    const h = new HtpasswdFile(options.htpasswd);
    try {
      await h.load();
    } catch (e) {
      throw new ConfigError(`cannot read htpasswd file ${options.htpasswd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if ((await h.hashOf(user)) === undefined) throw new ConfigError(`no user ${user} in ${options.htpasswd}`);
  }
  if (users && !users.has(user)) throw new ConfigError(`no user ${user} in ${options.users}`);
}

/** Runs `fn` with the state store open, closing it afterwards. */
export async function withState<T>(options: ServerOptions, fn: (state: StateStore) => Promise<T>): Promise<T> {
  const state = await openState(options);
  try {
    return await fn(state);
  } finally {
    await state.close();
  }
}

export const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** Rows as aligned columns (the first row is the header). */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}
