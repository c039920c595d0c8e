/** Runs a management command (src/cli/commands/index.ts decides that the arguments name one). */
import { ConfigError } from '../../config.js';
import { DavError } from '../../errors.js';
import { UsageError, type CommandIO } from './common.js';
import { appPasswordCommand } from './app-password.js';
import { shareCommand } from './share.js';
import { explainCommand } from './explain.js';

const COMMANDS: Record<string, (argv: string[], io: CommandIO) => Promise<number>> = {
  'app-password': appPasswordCommand,
  share: shareCommand,
  explain: explainCommand,
};

const stdio: CommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Runs the command `argv` names and resolves with its exit code; null when it names none. */
export async function dispatchCommand(argv: string[], io: CommandIO = stdio): Promise<number | null> {
  let run = COMMANDS[argv[0] ?? ''];
  let args = argv.slice(1);
  const explain = argv.indexOf('--explain');
  if (!run && explain !== -1) {
    run = explainCommand;
    args = [...argv.slice(0, explain), ...argv.slice(explain + 1)];
  }
  if (!run) return null;
  try {
    return await run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`koa-webdav-server: ${e.message}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      io.err(`koa-webdav-server: ${e.message} (see --help)`);
      return 2;
    }
    io.err(`koa-webdav-server: ${e instanceof DavError ? e.message : String((e as Error)?.message ?? e)}`);
    return 1;
  }
}
