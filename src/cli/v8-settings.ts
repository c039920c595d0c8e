/**
 * V8 settings of the server binary (issue 14, memory). Only the binary does this: an app that
 * mounts our middleware keeps its own, and so does a user who sets one of these
 * (`node --max-semi-space-size=... dist/cli.js`, `--heap-growing-percent`, `--no-turbofan`,
 * `--no-sparkplug`, or the same in NODE_OPTIONS). V8 reads each of them when it uses it, so they
 * can be switched while the program runs; nothing else of V8 is touched.
 *
 * While the program starts (its ~260 modules loaded, the server listening, the start-up sweep
 * done, or 5 s at most):
 * - The young generation does not grow. Loading the modules allocates enough short-lived garbage
 *   that V8 grew its new space from 2 to 16 MiB before the first request.
 * - Code is not compiled beyond bytecode (no Sparkplug, no TurboFan). Start-up code runs once;
 *   the functions that got hot enough to optimize there (module set-up, mime tables) took
 *   ~4.5 MiB of optimizing-compiler pages and code that an idle server then kept resident.
 * Idle RSS after the harness's probe: 62.7-63.1 MiB with neither, 57.5-58.7 with both (and
 * 65.5-66.2 before; tmpfs, this box). Once serving, requests get hot and tier up as before.
 *
 * While serving:
 * - The new space grows as V8 decides, up to 8 MiB (two semi-spaces of 4 MiB): V8's own ceiling
 *   here is 32 MiB, which small requests under load (wrk, 32 connections) reach within a second
 *   and keep (40 MiB more resident after a load phase: 173 against 132 MiB). V8 grows it only
 *   after a collection, so after each one the growth factor is switched at the cap.
 * - The old generation grows by half of what survived its last full collection before the next
 *   one (V8 otherwise picks a factor between 1.1 and 4 from its collection speed, and here kept
 *   30-50 MiB of old-space garbage after a load phase): RSS after the harness's load phases
 *   102-103 MiB against 122-135, peak 105 against 137-139. A full collection of this heap
 *   (~20 MiB live) marks concurrently; the main thread's share is a few milliseconds.
 * Throughput of small requests stayed inside the rounds' spread with each (README Performance).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Bytes of new space (both semi-spaces) past which it stops growing. */
export const YOUNG_CAP = 8 * 1024 * 1024;
/** Old-generation growth after a full collection, in percent of what survived it. */
export const OLD_GROWTH_PERCENT = 50;

/** Node options the user gave; a setting they name is theirs, and left alone. */
const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
const ours = (flag: RegExp): boolean => !flag.test(given);
const young = ours(/semi[-_]space/);
const old = ours(/heap[-_]growing/);
const turbofan = ours(/turbofan|[-_]opt\b/);
const sparkplug = ours(/sparkplug/);

let growing = true;
function grow(yes: boolean): void {
  if (yes === growing) return;
  setFlagsFromString(`--semi-space-growth-factor=${yes ? 2 : 1}`); // 2 is V8's default
  growing = yes;
}

/** Before the program is loaded. */
export function startingUp(): void {
  if (old) setFlagsFromString(`--heap-growing-percent=${OLD_GROWTH_PERCENT}`);
  if (young) grow(false);
  if (turbofan) setFlagsFromString('--no-turbofan');
  if (sparkplug) setFlagsFromString('--no-sparkplug');
}

/** Once the server listens and its start-up sweep is done. */
export function serving(): void {
  if (turbofan) setFlagsFromString('--turbofan');
  if (sparkplug) setFlagsFromString('--sparkplug');
  if (!young) return;
  const check = (): void => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    grow(size < YOUNG_CAP);
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}
