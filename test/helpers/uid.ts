/**
 * Permission errors (EACCES) under a root-run test: root ignores file modes, so a test sends its
 * requests while the process's effective uid is `nobody` (seteuid applies to every thread of the
 * process, the server's fs worker too). CI runs as root.
 */
export const NOBODY = 65534;

/** Throws unless the process runs as root (needed to switch to nobody and back). */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} switches to uid ${NOBODY} and must run as root (uid is ${process.getuid?.()}); CI runs as root`);
}

/** Runs `fn` (requests to the in-process server) with the effective uid nobody. */
export async function asNobody<T>(fn: () => Promise<T>): Promise<T> {
  process.seteuid!(NOBODY);
  try {
    return await fn();
  } finally {
    process.seteuid!(0);
  }
}
