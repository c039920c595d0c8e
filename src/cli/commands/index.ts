/**
 * The management commands beside serving: `app-password`, `share`, `explain` (also written
 * `--explain USER PATH` among the server's options). `runCommand` answers null when the
 * arguments name none of them, so the CLI goes on to serve. The commands are loaded only when
 * named: a server starting under a tight descriptor limit opens no more modules than it needs.
 */
const NAMES = new Set(['app-password', 'share', 'explain']);

/** Runs the command `argv` names and resolves with its exit code; null when it names none. */
export async function runCommand(argv: string[]): Promise<number | null> {
  if (!NAMES.has(argv[0] ?? '') && !argv.includes('--explain')) return null;
  const { dispatchCommand } = await import('./dispatch.js');
  return dispatchCommand(argv);
}
