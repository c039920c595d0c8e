/** Runs the litmus suites (basic, copymove, props, locks, http) against a fresh server. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './helpers/server.js';

function runLitmus(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(repoRoot, 'scripts', 'litmus.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.once('exit', (code) => resolve({ code, output }));
  });
}

describe('litmus', function () {
  this.timeout(300_000);

  it('passes basic, copymove, props, locks and http with no failure, warning or skip', async () => {
    const { code, output } = await runLitmus(['--suites', 'basic copymove props locks http']);
    const summary = output.split('\n').filter((l) => l.startsWith('litmus:') || l.includes('summary for'));
    expect(code, output).to.equal(0);
    expect(summary.join('\n')).to.match(/failed 0; warnings 0; skipped 0$/m);
    for (const suite of ['basic', 'copymove', 'props', 'locks', 'http']) expect(output).to.include(`summary for \`${suite}'`);
  });

  it('passes under a --prefix too', async () => {
    const { code, output } = await runLitmus(['--suites', 'basic copymove props locks', '--', '--prefix', '/dav']);
    expect(code, output).to.equal(0);
  });
});
