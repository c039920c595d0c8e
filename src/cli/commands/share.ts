/**
 * `koa-webdav-server share add --user USER PATH [--upload-only] [--password P] [--expires 7d]
 * [--max-downloads N] [--max-uploads N]` prints what it made and, as its last line, the share's
 * path (`<prefix>/.dav/s/<token>/`); `share list [--user USER]`; `share revoke TOKEN`. PATH is as
 * USER sees it (below their root). Each takes the server's own options.
 */
import { sharePath, Shares } from '../../auth/shares.js';
import { checkShare } from '../../auth/share-target.js';
import { cleanPath, userRights } from '../../auth/user-rights.js';
import { MountMap } from '../../storage/mounted.js';
import { parseDuration } from '../../util/duration.js';
import { checkUser, parseCommand, serverOptions, table, UsageError, usersOf, when, withState, type CommandIO, type FlagSpec } from './common.js';

export const SHARE_USAGE = `Usage:
  koa-webdav-server share add --user USER PATH [--upload-only] [--password P] [--expires 7d]
                              [--max-downloads N] [--max-uploads N] [server options]
  koa-webdav-server share list [--user USER] [server options]
  koa-webdav-server share revoke TOKEN [server options]
PATH is as USER sees it. Server options (--root, --users, --lock-store, --prefix, -c FILE, ...)
name the store the server uses.`;

const count = (v: string | boolean | undefined, flag: string): number | undefined => {
  if (typeof v !== 'string') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${flag} needs a whole number of at least 1`);
  return Number(v);
};

/** A share's token (or its id) as `share revoke` takes it: base64url, so it may start with '-'. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{8,64}$/;

export async function shareCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...args] = argv;
  // `share revoke TOKEN`: a token right after the word is the token even when it starts with '-'
  // (links made before tokens stopped starting with one), not an unknown option.
  const rest = sub === 'revoke' && args[0]?.startsWith('-') && !args[0].startsWith('--') && TOKEN_SHAPE.test(args[0]) ? [...args.slice(1), '--', args[0]] : args;
  const own: Record<string, FlagSpec> =
    sub === 'add'
      ? {
          user: { type: 'string' as const },
          'upload-only': { type: 'boolean' as const },
          password: { type: 'string' as const },
          expires: { type: 'string' as const },
          'max-downloads': { type: 'string' as const },
          'max-uploads': { type: 'string' as const },
        }
      : sub === 'list'
        ? { user: { type: 'string' as const } }
        : {};
  const p = parseCommand(rest, own);
  const want = sub === 'list' ? 0 : 1;
  if (!['add', 'list', 'revoke'].includes(sub ?? '') || p.positionals.length !== want) throw new UsageError(SHARE_USAGE);
  const options = await serverOptions(p);
  return withState(options, async (state) => {
    const shares = new Shares(state);
    if (sub === 'add') {
      const user = p.flags.user;
      if (typeof user !== 'string' || user === '') throw new UsageError(`share add needs --user USER (whose file it is)\n${SHARE_USAGE}`);
      const users = await usersOf(options);
      await checkUser(options, user, users);
      const rule = users?.get(user);
      const path = cleanPath(p.positionals[0]!);
      let expiresInMs: number | undefined;
      try {
        expiresInMs = typeof p.flags.expires === 'string' ? parseDuration(p.flags.expires) : undefined;
      } catch (e) {
        throw new UsageError(`--expires: ${(e as Error).message}`);
      }
      const mode = p.flags['upload-only'] === true ? 'drop' : 'read';
      const sharer = { user, map: new MountMap(rule?.root ?? '/', rule?.mounts ?? []), rights: rule ? userRights(user, rule) : null, readOnly: rule?.readOnly ?? false };
      const { target, within, kind } = await checkShare(options.root, sharer, path, mode);
      const password = typeof p.flags.password === 'string' ? p.flags.password : undefined;
      const record = await shares.create({
        user,
        path,
        target,
        within,
        kind,
        mode,
        password,
        expiresInMs,
        maxDownloads: count(p.flags['max-downloads'], 'max-downloads'),
        maxUploads: count(p.flags['max-uploads'], 'max-uploads'),
      });
      const what = [mode === 'drop' ? 'file drop (upload only)' : `read-only ${kind}`, password ? 'password' : 'no password', `expires ${when(record.expires)}`];
      io.out(`Shared ${path} of ${user}: ${what.join(', ')}`);
      io.out(sharePath(options.prefix, record.token));
      return 0;
    }
    if (sub === 'list') {
      const user = typeof p.flags.user === 'string' ? p.flags.user : undefined;
      const rows = (await shares.list(user)).map((s) => [
        s.token,
        s.user,
        s.path,
        s.mode === 'drop' ? 'upload-only' : `read-${s.kind}`,
        s.hasPassword ? 'yes' : 'no',
        when(s.expires),
        `${s.downloads}${s.maxDownloads === null ? '' : '/' + s.maxDownloads}`,
        `${s.uploads}${s.maxUploads === null ? '' : '/' + s.maxUploads}`,
      ]);
      if (!rows.length) io.err(user ? `${user} has no shares` : 'No shares');
      else for (const line of table([['TOKEN', 'USER', 'PATH', 'MODE', 'PASSWORD', 'EXPIRES', 'DOWNLOADS', 'UPLOADS'], ...rows])) io.out(line);
      return 0;
    }
    const revoked = await shares.revoke(p.positionals[0]!);
    if (!revoked) {
      io.err(`No share with token ${p.positionals[0]}`);
      return 1;
    }
    io.err(`Revoked the share of ${revoked.path} (${revoked.user}): its link no longer works, on any instance.`);
    return 0;
  });
}
