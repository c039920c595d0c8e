#!/usr/bin/env node
/**
 * The server binary. The program (cli/main.ts) is imported dynamically so that the heap setting
 * of cli/heap.ts applies before it is loaded: static imports are all loaded and compiled before
 * any module body runs. The young generation is released once the server listens and its
 * start-up sweep (a walk of the whole tree) is done, or after a few seconds of a long sweep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { holdYoungGeneration, releaseYoungGeneration } from './cli/heap.js';

holdYoungGeneration();
const { main } = await import('./cli/main.js');
const started = await main();
if (started) await Promise.race([started.sweep, sleep(5000, undefined, { ref: false })]);
releaseYoungGeneration();
