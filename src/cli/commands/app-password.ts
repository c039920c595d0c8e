/**
 * `koa-webdav-server app-password add USER [--label L] [--expires 30d] [--scope /path] [--read-only]`
 * prints the new password on stdout (one line, the only time it is shown; details on stderr);
 * `app-password list USER`; `app-password revoke USER LABEL`. Each takes the server's own options.
 */
import { ConfigError } from '../../config.js';
import { AppPasswords, checkLabel } from '../../auth/app-passwords.js';
import { cleanPath } from '../../auth/user-rights.js';
import { parseDuration } from '../../util/duration.js';
import { checkUser, parseCommand, serverOptions, table, UsageError, usersOf, when, withState, type CommandIO, type FlagSpec } from './common.js';

export const APP_PASSWORD_USAGE = `Usage:
  koa-webdav-server app-password add USER [--label L] [--expires 30d] [--scope /path] [--read-only] [server options]
  koa-webdav-server app-password list USER [server options]
  koa-webdav-server app-password revoke USER LABEL [server options]
Server options (--root, --htpasswd, --users, --lock-store, -c FILE, ...) name the store the server uses.`;

export async function appPasswordCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const own: Record<string, FlagSpec> = sub === 'add' ? { label: { type: 'string' as const }, expires: { type: 'string' as const }, scope: { type: 'string' as const }, 'read-only': { type: 'boolean' as const } } : {};
  const p = parseCommand(rest, own);
  const want = sub === 'revoke' ? 2 : 1;
  if (!['add', 'list', 'revoke'].includes(sub ?? '') || p.positionals.length !== want) throw new UsageError(APP_PASSWORD_USAGE);
  const user = p.positionals[0]!;
  const options = await serverOptions(p);
  if (!options.htpasswd) throw new ConfigError('app passwords are for servers with --htpasswd: pass the server\'s --htpasswd (or its --config)');
  await checkUser(options, user, await usersOf(options));
  return withState(options, async (state) => {
    const store = new AppPasswords(state);
    if (sub === 'add') {
      let expiresInMs: number | undefined;
      try {
        expiresInMs = typeof p.flags.expires === 'string' ? parseDuration(p.flags.expires) : undefined;
      } catch (e) {
        throw new UsageError(`--expires: ${(e as Error).message}`);
      }
      const scope = typeof p.flags.scope === 'string' ? cleanPath(p.flags.scope) : undefined;
      const label = typeof p.flags.label === 'string' ? checkLabel(p.flags.label) : undefined;
      const { password, record } = await store.create(user, { label, expiresInMs, scope, readOnly: p.flags['read-only'] === true });
      io.out(password);
      const what = [record.scope ? `limited to ${record.scope}` : 'whole tree', record.readOnly ? 'read-only' : 'read-write', `expires ${when(record.expires)}`];
      io.err(`App password ${JSON.stringify(record.label)} for ${user} (${what.join(', ')}). It is shown only now: store it in the client.`);
      return 0;
    }
    if (sub === 'list') {
      const rows = (await store.list(user)).map((r) => [
        r.label,
        when(r.created),
        when(r.expires),
        r.scope ?? '/',
        r.readOnly ? 'read-only' : 'read-write',
        r.lastUsed ? `${when(r.lastUsed.at)} from ${r.lastUsed.address}` : 'never',
      ]);
      if (!rows.length) io.err(`${user} has no app passwords`);
      else for (const line of table([['LABEL', 'CREATED', 'EXPIRES', 'SCOPE', 'ACCESS', 'LAST USED'], ...rows])) io.out(line);
      return 0;
    }
    const label = p.positionals[1]!;
    if (!(await store.revoke(user, label))) {
      io.err(`${user} has no app password labelled ${JSON.stringify(label)}`);
      return 1;
    }
    io.err(`Revoked app password ${JSON.stringify(label)} of ${user}: it no longer works, on any instance.`);
    return 0;
  });
}
