/**
 * Shared settings for the property-based suites: a fixed seed so CI runs are reproducible
 * (FC_SEED and FC_RUNS override it when hunting), and a checker that a call either returns or
 * throws a DavError, within a time bound (a hang or a blow-up is a failure, not a slow test).
 */
import fc from 'fast-check';
import { expect } from 'chai';
import { DavError } from '../../src/errors.js';

export const SEED = Number(process.env.FC_SEED ?? 20261122);
export const RUNS = Number(process.env.FC_RUNS ?? 2000);
export const params = { seed: SEED, numRuns: RUNS, endOnFailure: true };

/** Calls fn; returns its result, or undefined when it threw a DavError. Anything else fails. */
export function onlyDavError<T>(fn: () => T, status?: number): T | undefined {
  const t0 = performance.now();
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof DavError)) throw new Error(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    if (status !== undefined) expect(e.status).to.equal(status);
    return undefined;
  } finally {
    // Generous bound that only a hang or super-linear blow-up on a few-KB input can exceed.
    const ms = performance.now() - t0;
    if (ms > 2000) throw new Error(`took ${ms.toFixed(0)} ms`);
  }
}

/** Applies a few random edits (delete, insert, replace, duplicate a slice) to a string. */
export const mutated = (base: fc.Arbitrary<string>, alphabet: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(
      base,
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.constantFrom('del', 'ins', 'rep', 'dup'), fc.string({ unit: alphabet, maxLength: 4 })), {
        minLength: 1,
        maxLength: 6,
      }),
    )
    .map(([s, edits]) => {
      for (const [pos, len, kind, text] of edits) {
        const i = s.length ? pos % (s.length + 1) : 0;
        if (kind === 'del') s = s.slice(0, i) + s.slice(i + len);
        else if (kind === 'ins') s = s.slice(0, i) + text + s.slice(i);
        else if (kind === 'rep') s = s.slice(0, i) + text + s.slice(i + len);
        else s = s.slice(0, i) + s.slice(i, i + len) + s.slice(i);
      }
      return s;
    });
