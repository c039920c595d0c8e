/** Lifetimes as people write them: `90s`, `45m`, `12h`, `30d`, `2w` (a number alone is seconds). */
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a duration such as `30d`; throws with a clear message otherwise. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d{1,9})\s*([smhdw]?)\s*$/i.exec(text);
  if (!m || Number(m[1]) === 0) throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 90s, 45m, 12h, 30d, 2w)`);
  return Number(m[1]) * UNITS[(m[2] || 's').toLowerCase()]!;
}
