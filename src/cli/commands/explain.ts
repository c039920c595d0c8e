/**
 * `koa-webdav-server --explain USER PATH` (or `explain USER PATH`) with the server's --users file
 * (or -c FILE): the rights USER has at PATH (as USER sees it), the rule that gave them and every
 * rule that matches, in the order they are merged (the last one decides).
 */
import { basename } from 'node:path';
import { ConfigError } from '../../config.js';
import { mergeSources } from '../../config-file.js';
import { loadUsers } from '../../auth/users.js';
import { allRights, formatRights, readRights, treeRule, type Rule } from '../../auth/rules.js';
import { cleanPath, userRights } from '../../auth/user-rights.js';
import { MountMap } from '../../storage/mounted.js';
import { parseCommand, UsageError, type CommandIO } from './common.js';

export const EXPLAIN_USAGE = 'Usage: koa-webdav-server --explain USER PATH --users FILE (or -c FILE)';

const describe = (r: Rule): string => `${r.source}: ${r.pattern} -> ${formatRights(r.rights)}`;

export async function explainCommand(argv: string[], io: CommandIO): Promise<number> {
  const p = parseCommand(argv, {});
  if (p.positionals.length !== 2) throw new UsageError(EXPLAIN_USAGE);
  const [user, raw] = p.positionals as [string, string];
  const file = mergeSources(p.cli, p.config, process.env).users;
  if (!file) throw new ConfigError('--explain needs the server\'s users file (--users FILE, or -c FILE)');
  const users = await loadUsers(file);
  const rule = users.get(user);
  if (!rule) throw new ConfigError(`no user ${user} in ${file}: the server refuses them (403)`);
  const path = cleanPath(raw);
  const rights = userRights(user, rule, basename(file)) ?? undefined;
  const base = treeRule('/', rule.readOnly ? readRights() : allRights(), `${basename(file)} users.${user}.access (${rule.readOnly ? 'read-only' : 'read-write'})`);
  const decision = rights ? rights.at(path) : { rights: base.rights, rule: base };
  io.out(`${user} ${path}: ${formatRights(decision.rights)}`);
  io.out(`  served path: ${new MountMap(rule.root, rule.mounts ?? []).abs(path)}`);
  io.out(`  decided by: ${decision.rule ? describe(decision.rule) : 'no rule matches (no rights)'}`);
  const matching = rights ? rights.matching(path) : [base];
  io.out('  matching rules, in the order they are merged (the last one decides):');
  for (const r of matching) io.out(`    ${describe(r)}`);
  return 0;
}
