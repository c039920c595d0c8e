/** Test helpers for authentication and TLS: htpasswd files, Basic headers, self-signed certs, HTTPS requests. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import bcrypt from 'bcryptjs';
import { request, type Res, type ReqOptions } from './server.js';

/** `Authorization: Basic ...` for a user and password. */
export const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');

/** Writes an htpasswd file with bcrypt hashes (cost 4: fast tests) for the given passwords. */
export async function writeHtpasswd(dir: string, users: Record<string, string>, extraLines: string[] = []): Promise<string> {
  const file = join(dir, 'htpasswd');
  const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}`);
  await writeFile(file, [...lines, ...extraLines].join('\n') + '\n');
  return file;
}

/** A self-signed certificate for 127.0.0.1/localhost, made with openssl. */
export function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], {
    stdio: 'ignore',
  });
  return { cert, key };
}

/** One HTTPS request (the test certificate is self-signed, so it is not verified). */
export const httpsReq = (base: string, method: string, path: string, opts: ReqOptions = {}): Promise<Res> => {
  if (!base.startsWith('https:')) throw new Error(`httpsReq needs an https: base, got ${base}`);
  return request(base, method, path, opts);
};
