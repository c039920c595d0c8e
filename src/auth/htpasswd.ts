/**
 * htpasswd files (Apache format, one `user:hash` per line). Accepted hashes: bcrypt
 * (`$2y$`, `$2b$`, `$2a$`; what `htpasswd -B` writes), `{SHA}` and `$apr1$` (MD5-crypt, the
 * default of older `htpasswd`). Plain text and DES crypt are refused: a line with them
 * authenticates nobody. Checks run on the hash pool, off the event loop, with constant-time
 * comparisons; an unknown user (or one with a refused hash) is checked against a dummy hash of
 * the file's usual scheme and cost, so response times do not reveal which names exist.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hashPool, type HashPool } from './hash-pool.js';

export type HashKind = 'bcrypt' | 'sha1' | 'apr1' | 'unsupported';

export function hashKind(hash: string): HashKind {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  return 'unsupported';
}

const CRYPT64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const randomChars = (alphabet: string, n: number): string => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');

/** Scheme and cost of a hash, e.g. `bcrypt:10`: two hashes with the same signature cost the same to check. */
const signature = (hash: string): string => {
  const kind = hashKind(hash);
  return kind === 'bcrypt' ? `bcrypt:${hash.slice(4, 6)}` : kind;
};

/**
 * A well-formed hash that no password matches (random salt and digest), checked for users that
 * do not exist: it has the scheme and cost most of the file's users have, so an unknown name
 * costs what a known one costs.
 */
export function dummyHash(hashes: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const h of hashes) if (hashKind(h) !== 'unsupported') counts.set(signature(h), (counts.get(signature(h)) ?? 0) + 1);
  let best = 'bcrypt:10';
  let most = 0;
  for (const [sig, n] of counts) if (n > most) [best, most] = [sig, n];
  if (best === 'sha1') return `{SHA}${randomChars(B64, 27)}=`;
  if (best === 'apr1') return `$apr1$${randomChars(CRYPT64, 8)}$${randomChars(CRYPT64, 22)}`;
  return `$2b$${best.slice(7)}$${randomChars(CRYPT64, 53)}`;
}

export function parseHtpasswd(text: string): { entries: Map<string, string>; problems: string[] } {
  const entries = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const c = line.indexOf(':');
    if (c <= 0) return void problems.push(`line ${i + 1}: not user:hash`);
    const user = line.slice(0, c);
    const hash = line.slice(c + 1).trim();
    if (hashKind(hash) === 'unsupported') problems.push(`line ${i + 1} (${user}): unsupported hash (use bcrypt: htpasswd -B)`);
    entries.set(user, hash);
  });
  return { entries, problems };
}

/** An htpasswd file, re-read when it changes (checked at most every `recheckMs`). */
export class HtpasswdFile {
  private entries = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;
  private dummy = dummyHash([]);
  problems: string[] = [];

  constructor(
    readonly file: string,
    private readonly recheckMs = 2000,
    private readonly pool: HashPool = hashPool,
  ) {}

  async load(): Promise<void> {
    const st = await fsp.stat(this.file);
    const parsed = parseHtpasswd(await fsp.readFile(this.file, 'utf8'));
    this.entries = parsed.entries;
    this.problems = parsed.problems;
    this.dummy = dummyHash(parsed.entries.values());
    this.mtimeMs = st.mtimeMs;
    this.checkedAt = Date.now();
  }

  /** Re-reads the file if it changed; keeps the old entries if it cannot be read. */
  private async refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    try {
      const st = await fsp.stat(this.file);
      if (st.mtimeMs !== this.mtimeMs) await this.load();
    } catch {
      // Being rewritten, or gone: keep what we have.
    }
  }

  /** Stored hash of a user (after a refresh), or undefined. */
  async hashOf(user: string): Promise<string | undefined> {
    await this.refresh();
    return this.entries.get(user);
  }

  /**
   * True when `password` is the user's; the same work whether or not the user exists. Runs on
   * the hash pool in `client`'s turn.
   */
  async verify(user: string, password: string, client = ''): Promise<boolean> {
    const hash = await this.hashOf(user);
    const usable = hash !== undefined && hashKind(hash) !== 'unsupported';
    const ok = await this.pool.verify(password, usable ? hash : this.dummy, client);
    return usable && ok;
  }
}
