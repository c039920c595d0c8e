/** Stats as numbers (see STAT_FIELDS in protocol.ts), written into a Float64Array by the fs worker. */
import type { Stats } from 'node:fs';
import { Kind } from './protocol.js';

export const kindOf = (st: Stats): number => (st.isDirectory() ? Kind.Directory : st.isFile() ? Kind.File : Kind.Special);

export function putStat(out: Float64Array, o: number, st: Stats): void {
  out[o] = kindOf(st);
  out[o + 1] = st.size;
  out[o + 2] = st.mtimeMs;
  out[o + 3] = st.birthtimeMs;
  out[o + 4] = st.ctimeMs;
  out[o + 5] = st.ino;
  out[o + 6] = st.dev;
}

/** The identity of a stored object, as ResourceInfo.id has it (src/storage/fs/reads.ts). */
export const idOf = (st: Stats): string => `${st.dev.toString(36)}:${st.ino.toString(36)}`;

export const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? 'EIO';
