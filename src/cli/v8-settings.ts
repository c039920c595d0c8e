/**
 * V8 heap settings of the server binary (issue 14, memory). Only the binary does this: an app
 * that mounts our middleware keeps its own heap settings, and so does a user who sets these
 * (`node --max-semi-space-size=...` or `--heap-growing-percent=...`, or NODE_OPTIONS).
 *
 * - During start-up it does not grow. Loading and compiling the program's ~260 modules allocates
 *   enough short-lived garbage that V8 grew its new space from 2 to 16 MiB before the first
 *   request: ~5 MiB more resident at idle, kept until something shrank it.
 * - Once the server listens it grows as V8 decides, up to 8 MiB (two semi-spaces of 4 MiB).
 *   V8's own ceiling here is 32 MiB, which small requests under load (wrk, 32 connections)
 *   reach within a second and keep: 40 MiB more resident after a load phase (173 against 132
 *   MiB), with small-request throughput within the rounds' spread either way (README
 *   Performance). V8 only reads its growth factor when it grows the space, so the factor is
 *   switched at the cap after each collection.
 * - The old generation grows by half of what survived its last full collection before the next
 *   one (V8 otherwise picks a factor between 1.1 and 4 from its collection speed, and here kept
 *   ~30-50 MiB of old-space garbage after a load phase): RSS after the harness's load phases
 *   102-103 MiB against 122-135 with V8's factor, peak 105 against 137-139, throughput inside the
 *   rounds' spread (README Performance). A full collection of this heap (~20 MiB live) marks
 *   concurrently; the main thread's share is a few milliseconds.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Bytes of new space (both semi-spaces) past which it stops growing. */
export const YOUNG_CAP = 8 * 1024 * 1024;

/** Old-generation growth after a full collection, in percent of what survived it. */
export const OLD_GROWTH_PERCENT = 50;

const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
const own = /semi[-_]space/.test(given);
const ownGrowth = /heap[-_]growing/.test(given);

let growing = true;
function grow(yes: boolean): void {
  if (yes === growing) return;
  setFlagsFromString(`--semi-space-growth-factor=${yes ? 2 : 1}`); // 2 is V8's default
  growing = yes;
}

/** Before the program is loaded: the new space keeps its initial size. */
export function holdYoungGeneration(): void {
  if (!ownGrowth) setFlagsFromString(`--heap-growing-percent=${OLD_GROWTH_PERCENT}`);
  if (!own) grow(false);
}

/** Once the server listens: growth as V8 decides, up to YOUNG_CAP. */
export function releaseYoungGeneration(): void {
  if (own) return;
  const check = (): void => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    grow(size < YOUNG_CAP);
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}
