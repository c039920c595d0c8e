/** Server options, their defaults, and validation with messages a person can act on. */
import { resolve } from 'node:path';

export interface ServerOptions {
  /** Directory served at the URL root (or at `prefix`). */
  root: string;
  host: string;
  port: number;
  /** Serve under a sub-path such as '/dav' ('' for the URL root). */
  prefix: string;
  /** 'memory', 'file' (default: `<root>/.davmeta/locks.json`), or `file:PATH`. */
  lockStore: string;
  /** Timeout given to a LOCK that asks for none, seconds. */
  defaultLockTimeout: number;
  /** Cap on any lock timeout (Infinite included), seconds. */
  maxLockTimeout: number;
  /** Largest XML request body accepted (propfind, proppatch, lock), bytes. */
  maxXmlBytes: number;
  /** Trust X-Forwarded-Proto/-Host from a reverse proxy when matching Destination URLs. */
  trustProxy: boolean;
  /** No start-up banner. */
  quiet: boolean;
}

export const DEFAULTS: ServerOptions = {
  root: './storage',
  host: '127.0.0.1',
  port: 8080,
  prefix: '',
  lockStore: 'file',
  defaultLockTimeout: 3600,
  maxLockTimeout: 7 * 24 * 3600,
  maxXmlBytes: 1024 * 1024,
  trustProxy: false,
  quiet: false,
};

export class ConfigError extends Error {}

/** Fills defaults and checks values; throws ConfigError with one clear line. */
export function resolveOptions(partial: Partial<ServerOptions>): ServerOptions {
  const o: ServerOptions = { ...DEFAULTS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
  o.root = resolve(o.root);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new ConfigError(`invalid port: ${o.port}`);
  if (o.prefix) {
    if (!o.prefix.startsWith('/')) o.prefix = '/' + o.prefix;
    o.prefix = o.prefix.replace(/\/+$/, '');
    if (/[?#%\\]/.test(o.prefix) || o.prefix.split('/').some((s) => s === '.' || s === '..')) throw new ConfigError(`invalid prefix: ${partial.prefix}`);
  }
  for (const k of ['defaultLockTimeout', 'maxLockTimeout', 'maxXmlBytes'] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new ConfigError(`invalid ${k}: ${o[k]}`);
  }
  if (!/^(memory|file|file:.+)$/.test(o.lockStore)) throw new ConfigError(`invalid lock store: ${o.lockStore} (use memory, file or file:PATH)`);
  return o;
}
