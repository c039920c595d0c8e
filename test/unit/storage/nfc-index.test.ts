/**
 * The per-directory index of non-ASCII names by NFC form (src/storage/fs/paths.ts) over a real
 * directory: a name that matches nothing costs no reading of the directory while it is
 * unchanged, any change to the directory is seen, and a reading that may share a clock tick
 * with a change is not kept. Readings are counted by wrapping fs.promises.readdir (the real
 * call still runs).
 */
import { expect } from 'chai';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { canonicalPath, NfcIndex } from '../../../src/storage/fs/paths.js';
import { makeTempDir } from '../../helpers/server.js';

const NFC = 'caf\u00e9.txt';
const NFD = 'cafe\u0301.txt';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('NFC index of directory members', () => {
  let root: string;
  let reads: string[];
  const readdir = fsp.readdir;
  beforeEach(async () => {
    root = await makeTempDir('nfc');
    reads = [];
    (fsp as { readdir: unknown }).readdir = (p: string, ...rest: unknown[]) => {
      reads.push(p);
      return (readdir as (...a: unknown[]) => unknown)(p, ...rest);
    };
  });
  afterEach(async () => {
    (fsp as { readdir: unknown }).readdir = readdir;
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('finds the stored spelling, and answers misses without reading an unchanged directory again', async () => {
    await fsp.mkdir(join(root, 'd'));
    for (let i = 0; i < 500; i++) await fsp.writeFile(join(root, 'd', `n\u00e4me-${i}`), '');
    await fsp.writeFile(join(root, 'd', NFC), 'x');
    await sleep(80);
    const index = new NfcIndex(1000, 50);
    expect(await canonicalPath(root, `/d/${NFD}`, index)).to.equal(`/d/${NFC}`);
    expect(reads).to.have.length(1);
    for (let i = 0; i < 20; i++) expect(await canonicalPath(root, `/d/missing-\u00e9-${i}`, index)).to.equal(`/d/missing-\u00e9-${i}`);
    expect(await canonicalPath(root, `/d/${NFD}`, index)).to.equal(`/d/${NFC}`);
    expect(reads, 'one reading of the unchanged directory').to.have.length(1);

    // a new member changes the directory: the next lookup reads it again and finds it
    await fsp.writeFile(join(root, 'd', 'r\u00e9sum\u00e9.pdf'), 'y');
    expect(await canonicalPath(root, '/d/re\u0301sume\u0301.pdf', index)).to.equal('/d/r\u00e9sum\u00e9.pdf');
    expect(reads).to.have.length(2);
    // ... and so does a removal
    await fsp.rm(join(root, 'd', NFC));
    expect(await canonicalPath(root, `/d/${NFD}`, index)).to.equal(`/d/${NFD}`);
  });

  it('does not keep a reading of a directory changed just before it (the same clock tick could hide a change)', async () => {
    await fsp.mkdir(join(root, 'd'));
    const index = new NfcIndex(1000, 60_000);
    await fsp.writeFile(join(root, 'd', NFC), 'x');
    expect(await canonicalPath(root, '/d/miss-\u00e9', index)).to.equal('/d/miss-\u00e9');
    expect(await canonicalPath(root, '/d/miss-\u00e9', index)).to.equal('/d/miss-\u00e9');
    expect(reads).to.have.length(2);
  });

  it('keeps at most its cap of names, dropping the oldest directories', async () => {
    for (const d of ['a', 'b']) {
      await fsp.mkdir(join(root, d));
      for (let i = 0; i < 30; i++) await fsp.writeFile(join(root, d, `\u00fc${i}`), '');
    }
    await sleep(80);
    const index = new NfcIndex(40, 50);
    await canonicalPath(root, '/a/miss-\u00e9', index);
    await canonicalPath(root, '/b/miss-\u00e9', index);
    await canonicalPath(root, '/b/miss-\u00e9', index);
    expect(reads.map((p) => p.slice(root.length))).to.deep.equal(['/a', '/b']);
    await canonicalPath(root, '/a/miss-\u00e9', index); // dropped to make room for /b
    expect(reads.map((p) => p.slice(root.length))).to.deep.equal(['/a', '/b', '/a']);
  });
});
