/**
 * htpasswd files (Apache format, one `user:hash` per line). Accepted hashes: bcrypt
 * (`$2y$`, `$2b$`, `$2a$`; what `htpasswd -B` writes), `{SHA}` and `$apr1$` (MD5-crypt, the
 * default of older `htpasswd`). Plain text and DES crypt are refused: a line with them
 * authenticates nobody. Every comparison is constant-time, and an unknown user costs the same
 * bcrypt as a known one so response times do not reveal which names exist.
 */
import { promises as fsp } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** bcrypt of a random password: compared against when the user is unknown. */
const DUMMY_BCRYPT = '$2b$10$fczZ2rHVs7VZhEQWCLcA4u86R9uKe6w4y1OAIeClJD99ZpxKozuz.';

export type HashKind = 'bcrypt' | 'sha1' | 'apr1' | 'unsupported';

export function hashKind(hash: string): HashKind {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  return 'unsupported';
}

/** Constant-time string equality (lengths are not secret: hash lengths are fixed by the scheme). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(v: number, n: number): string {
  let s = '';
  while (n-- > 0) {
    s += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return s;
}

/** Apache's MD5-crypt (`$apr1$salt$hash`), as in apr_md5_encode. */
export function apr1(password: string, salt: string): string {
  const pw = Buffer.from(password, 'utf8');
  const magic = '$apr1$';
  salt = salt.slice(0, 8);
  const md5 = () => createHash('md5');
  const ctx = md5().update(pw).update(magic).update(salt);
  let fin = md5().update(pw).update(salt).update(pw).digest();
  for (let pl = pw.length; pl > 0; pl -= 16) ctx.update(fin.subarray(0, Math.min(pl, 16)));
  for (let i = pw.length; i; i >>= 1) ctx.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1));
  fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = md5();
    c.update(i & 1 ? pw : fin);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(pw);
    c.update(i & 1 ? fin : pw);
    fin = c.digest();
  }
  const f = fin;
  const out =
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2);
  return `${magic}${salt}$${out}`;
}

/** Checks a password against one stored hash. */
export async function verifyHash(password: string, hash: string): Promise<boolean> {
  switch (hashKind(hash)) {
    case 'bcrypt':
      return bcrypt.compare(password, hash);
    case 'sha1':
      return safeEqual('{SHA}' + createHash('sha1').update(password, 'utf8').digest('base64'), hash);
    case 'apr1':
      return safeEqual(apr1(password, hash.split('$')[2]!), hash);
    default:
      return false;
  }
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
  problems: string[] = [];

  constructor(
    readonly file: string,
    private readonly recheckMs = 2000,
  ) {}

  async load(): Promise<void> {
    const st = await fsp.stat(this.file);
    const parsed = parseHtpasswd(await fsp.readFile(this.file, 'utf8'));
    this.entries = parsed.entries;
    this.problems = parsed.problems;
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

  /** True when `password` is the user's; constant work whether or not the user exists. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = await this.hashOf(user);
    if (hash === undefined) {
      await bcrypt.compare(password, DUMMY_BCRYPT);
      return false;
    }
    return verifyHash(password, hash);
  }
}
