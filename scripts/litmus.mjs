#!/usr/bin/env node
// Runs the litmus WebDAV test suites against a fresh server over a temp directory (or against
// --url), prints litmus' output and a summary, and exits non-zero on any failure, warning or
// skipped test. Usage: node scripts/litmus.mjs [--suites "basic copymove"] [--url URL]
//   [--user USER --pass PASS] [-- server args]   (--user/--pass: litmus authenticates with them)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const serverArgs = dash === -1 ? [] : args.slice(dash + 1);
const own = dash === -1 ? args : args.slice(0, dash);
const opt = (name) => {
  const i = own.indexOf(name);
  return i === -1 ? undefined : own[i + 1];
};
const suites = opt('--suites') ?? 'basic copymove props locks http';

if (spawnSync('litmus', ['--help'], { stdio: 'ignore' }).error) {
  console.error('litmus is not installed (Debian: apt-get install -y litmus)');
  process.exit(3);
}

let server;
let root;
let url = opt('--url');
if (!url) {
  root = mkdtempSync(join(tmpdir(), 'litmus-root-'));
  server = spawn(process.execPath, [join(here, '..', 'dist', 'cli.js'), '--root', root, '--port', '0', ...serverArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

const creds = opt('--user') !== undefined ? [opt('--user'), opt('--pass') ?? ''] : [];
const litmus = spawn('litmus', ['-k', url, ...creds], { env: { ...process.env, TESTS: suites }, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
litmus.stdout.on('data', (d) => {
  output += d;
  process.stdout.write(d);
});
litmus.stderr.on('data', (d) => process.stderr.write(d));
const code = await new Promise((r) => litmus.once('exit', r));

if (server) {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(root, { recursive: true, force: true });
}

const summaries = [...output.matchAll(/summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/g)];
const warnings = [...output.matchAll(/(\d+) warnings? (?:was|were) issued/g)].reduce((n, m) => n + Number(m[1]), 0);
const failed = summaries.reduce((n, m) => n + Number(m[4]), 0);
// litmus itself skips expect100 over TLS ("skipping for SSL server"): nothing our server can change.
const skipped = (output.match(/\bSKIPPED\b(?! \(skipping for SSL server\))/g) ?? []).length;
const ran = summaries.map((m) => m[1]);
const missing = suites.split(/\s+/).filter((s) => s && !ran.includes(s));
console.log(`\nlitmus: suites ${ran.join(', ') || 'none'}; failed ${failed}; warnings ${warnings}; skipped ${skipped}${missing.length ? `; did not run: ${missing.join(', ')}` : ''}`);
process.exit(code === 0 && failed === 0 && warnings === 0 && skipped === 0 && missing.length === 0 ? 0 : 1);
