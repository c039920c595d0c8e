#!/usr/bin/env node
/**
 * The server binary. The program (cli/main.ts) is imported dynamically so that the V8 settings
 * of cli/v8-settings.ts apply before it is loaded: static imports are all loaded and compiled
 * before any module body runs. Start-up ends once the server listens and its start-up sweep (a
 * walk of the metadata folder, the first time of the whole tree) is done, or after 5 s of a long
 * sweep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { serving, startingUp } from './cli/v8-settings.js';

startingUp();
const { main } = await import('./cli/main.js');
const started = await main();
if (started) {
  await Promise.race([started.sweep, sleep(5000, undefined, { ref: false })]);
  serving();
}
