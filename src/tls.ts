/**
 * HTTP or HTTPS listener: `--tls-cert`/`--tls-key` switch the server to HTTPS with Mozilla's
 * "intermediate" profile: TLS 1.2 and 1.3 only, and only forward-secret AEAD suites (ECDHE
 * with AES-GCM or ChaCha20-Poly1305), so no static-RSA key exchange and no CBC. `--hsts SEC`
 * adds Strict-Transport-Security to HTTPS answers.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Next } from 'koa';
import type { ServerOptions } from './config.js';
import { ConfigError } from './config.js';
import type { DavContext } from './context.js';

/** TLS 1.3 suites, then the TLS 1.2 ECDHE + AEAD suites of the intermediate profile (clients choose). */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export const scheme = (o: ServerOptions): 'http' | 'https' => (o.tlsCert ? 'https' : 'http');

export function createListener(o: ServerOptions, handler: RequestListener, http: HttpServerOptions = {}): Server {
  if (!o.tlsCert || !o.tlsKey) return createHttpServer(http, handler);
  try {
    const tls = { minVersion: 'TLSv1.2' as const, ciphers: TLS_CIPHERS, honorCipherOrder: false };
    return createHttpsServer({ ...http, ...tls, cert: readPem(o.tlsCert, 'TLS certificate'), key: readPem(o.tlsKey, 'TLS key') }, handler) as unknown as Server;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot use the TLS certificate/key: ${(e as Error).message}`);
  }
}

/** `--hsts SEC`: Strict-Transport-Security on answers sent over HTTPS (ours, or a trusted proxy's). */
export function hsts(o: ServerOptions): ((ctx: DavContext, next: Next) => Promise<void>) | null {
  if (!o.hsts) return null;
  const value = `max-age=${o.hsts}`;
  return async function hstsMiddleware(ctx: DavContext, next: Next): Promise<void> {
    const https = o.tlsCert ? true : o.trustProxy && ctx.get('x-forwarded-proto').split(',')[0]!.trim().toLowerCase() === 'https';
    if (https) ctx.set('Strict-Transport-Security', value);
    return next();
  };
}
