/** HTTP or HTTPS listener: `--tls-cert`/`--tls-key` switch the server to HTTPS. */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ServerOptions } from './config.js';
import { ConfigError } from './config.js';

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
    return createHttpsServer({ ...http, cert: readPem(o.tlsCert, 'TLS certificate'), key: readPem(o.tlsKey, 'TLS key') }, handler) as unknown as Server;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot use the TLS certificate/key: ${(e as Error).message}`);
  }
}
