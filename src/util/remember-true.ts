/**
 * Wraps a pure predicate of a string so that the last value it accepted is not checked again:
 * clients repeat the same header (Host) on every request. A refused value is never remembered.
 */
export function rememberLastTrue(check: (value: string) => boolean): (value: string) => boolean {
  let last: string | undefined;
  return (value) => {
    if (value === last) return true;
    if (!check(value)) return false;
    last = value;
    return true;
  };
}
