/**
 * Server options: one table declares every option once (flag, type, default, help text), and
 * the CLI, help output and validation are derived from it. Adding an option means adding a
 * field to ServerOptions and a row to OPTION_SPECS.
 */
import { resolve } from 'node:path';
import { checkSecurityOptions } from './auth/options.js';

export interface ServerOptions {
  /** Directory served at the URL root (or at `prefix`). */
  root: string;
  host: string;
  port: number;
  /** Serve under a sub-path such as '/dav' ('' for the URL root). */
  prefix: string;
  /** 'memory', 'file' (default: `<root>/.davmeta/locks.json`), `file:PATH`, or `redis://host:port/db`. */
  lockStore: string;
  /** Storage backend: 'fs' (the directory `root`, default) or 'memory' (nothing survives a restart). */
  storage: string;
  /** Timeout given to a LOCK that asks for none, seconds. */
  defaultLockTimeout: number;
  /** Cap on any lock timeout (Infinite included), seconds. */
  maxLockTimeout: number;
  /** Largest XML request body accepted (propfind, proppatch, lock), bytes. */
  maxXmlBytes: number;
  /** Trust X-Forwarded-Proto/-Host from a reverse proxy when matching Destination URLs. */
  trustProxy: boolean;
  /** No start-up banner and no access log (errors are still logged). */
  quiet: boolean;
  /** Server processes on one port (node:cluster); more than 1 needs a shared (redis) lock store. */
  workers: number;
  /** htpasswd file (bcrypt, {SHA} or apr1 hashes): turns on HTTP Basic authentication. */
  htpasswd?: string;
  /** Users file (JSON or YAML): each user's root below the served directory and access. */
  users?: string;
  /** Basic authentication realm. */
  realm: string;
  /** PEM certificate and key: serve HTTPS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Allow listening on a non-loopback address without authentication. */
  allowAnonymous: boolean;
  /** Origins allowed to use the server from a browser (comma list). */
  corsOrigin?: string;
  /** Largest PUT body, bytes (0: no limit). */
  maxUpload: number;
  /** Access and error log lines as 'text' or 'json' (one JSON object per line). */
  logFormat: string;
  /** fsync every upload before answering (survives a power cut; slower). */
  fsync: boolean;
  /** Seconds a client may take to send the request headers (slow-loris guard). */
  headersTimeout: number;
  /** Seconds a whole request may take, body included (0: no limit). */
  requestTimeout: number;
  /** Seconds a connection may stay silent mid-request (a stalled body or a reader that stopped). */
  idleTimeout: number;
  /** Seconds SIGTERM/SIGINT waits for in-flight requests before closing them. */
  shutdownTimeout: number;
  /** Failed logins from one client address per window before it is banned (0: no brute-force defender). */
  authMaxFailures: number;
  /** Failed logins on one user name per window before the addresses that failed on it are banned (0: no limit). */
  authMaxUserFailures: number;
  /** Seconds failed logins are counted over. */
  authWindow: number;
  /** Seconds a ban lasts. */
  authBan: number;
  /** Slowest request body accepted once --body-timeout has passed, bytes per second (0: no minimum). */
  minBodyRate: number;
  /** Seconds a request body gets before --min-body-rate applies. */
  bodyTimeout: number;
  /** Open connections allowed per client address (0: no cap). */
  maxClientConnections: number;
  /** Host names accepted without authentication besides loopback ones (comma list; `*`: any). */
  allowedHosts?: string;
  /** Strict-Transport-Security max-age in seconds for HTTPS responses (0: not sent). */
  hsts: number;
  /** 'on': PROPFIND Depth: infinity is served (streamed); 'off': 403 propfind-finite-depth. */
  depthInfinity: string;
  /** Accept and drop writes of OS metadata files (._*, .DS_Store, Thumbs.db, desktop.ini). */
  hideOsJunk: boolean;
  /**
   * 'on': small filesystem requests run on the event loop while the fs worker is idle (see
   * src/storage/fs/stat-batch.ts); 'off': always on the worker (a filesystem that can hang).
   */
  fsInline: string;
  /** Seconds an unfinished resumable upload is kept after its last write. */
  uploadExpiry: number;
  /** Port of the admin listener (/metrics, /healthz, /readyz); none when unset, 0 picks a free one. */
  adminPort?: number;
  /** Address of the admin listener. */
  adminHost: string;
}

export interface OptionSpec {
  key: keyof ServerOptions;
  flag: string;
  type: 'string' | 'int' | 'boolean';
  help: string;
  /** Placeholder shown in --help for valued flags. */
  arg?: string;
}

export const OPTION_SPECS: OptionSpec[] = [
  { key: 'root', flag: 'root', type: 'string', arg: 'DIR', help: 'directory to serve (default: ./storage)' },
  { key: 'port', flag: 'port', type: 'int', arg: 'N', help: 'TCP port (default: 8080; 0 picks a free one)' },
  { key: 'host', flag: 'host', type: 'string', arg: 'H', help: 'address to listen on (default: 127.0.0.1)' },
  { key: 'prefix', flag: 'prefix', type: 'string', arg: '/PATH', help: 'serve under a sub-path, e.g. /dav (default: the URL root)' },
  { key: 'lockStore', flag: 'lock-store', type: 'string', arg: 'STORE', help: 'memory | file | file:PATH | redis://host:port/db (default: file, <root>/.davmeta/locks.json)' },
  { key: 'storage', flag: 'storage', type: 'string', arg: 'KIND', help: 'fs | memory: serve the root directory, or a tree held in memory for demos and tests (default: fs)' },
  { key: 'defaultLockTimeout', flag: 'lock-timeout', type: 'int', arg: 'SEC', help: 'timeout of a LOCK that asks for none (default: 3600)' },
  { key: 'maxLockTimeout', flag: 'max-lock-timeout', type: 'int', arg: 'SEC', help: 'cap on any lock timeout, Infinite included (default: 604800)' },
  { key: 'maxXmlBytes', flag: 'max-xml-bytes', type: 'int', arg: 'N', help: 'largest XML request body in bytes (default: 1048576)' },
  { key: 'trustProxy', flag: 'trust-proxy', type: 'boolean', help: 'trust X-Forwarded-Host/-Proto when matching Destination URLs' },
  { key: 'quiet', flag: 'quiet', type: 'boolean', help: 'no start-up banner and no access log (errors are still logged)' },
  { key: 'workers', flag: 'workers', type: 'int', arg: 'N', help: 'server processes sharing the port (default: 1; more needs --lock-store redis://...)' },
  { key: 'htpasswd', flag: 'htpasswd', type: 'string', arg: 'FILE', help: 'require HTTP Basic auth against this htpasswd file (bcrypt, {SHA}, apr1)' },
  { key: 'users', flag: 'users', type: 'string', arg: 'FILE', help: 'users file (JSON or YAML): per-user root and read-only/read-write access' },
  { key: 'realm', flag: 'realm', type: 'string', arg: 'NAME', help: 'Basic authentication realm (default: WebDAV)' },
  { key: 'tlsCert', flag: 'tls-cert', type: 'string', arg: 'FILE', help: 'PEM certificate (chain): serve HTTPS (needs --tls-key)' },
  { key: 'tlsKey', flag: 'tls-key', type: 'string', arg: 'FILE', help: 'PEM private key for --tls-cert' },
  { key: 'allowAnonymous', flag: 'allow-anonymous', type: 'boolean', help: 'allow a non-loopback --host without authentication' },
  { key: 'corsOrigin', flag: 'cors-origin', type: 'string', arg: 'ORIGINS', help: 'comma list of browser origins allowed via CORS (* for any, without credentials)' },
  { key: 'maxUpload', flag: 'max-upload', type: 'int', arg: 'BYTES', help: 'largest PUT body in bytes; larger is 413 (default: 0, no limit)' },
  { key: 'logFormat', flag: 'log-format', type: 'string', arg: 'FMT', help: 'text | json: access and error log format (default: text)' },
  { key: 'fsync', flag: 'fsync', type: 'boolean', help: 'fsync each upload before answering (survives power loss; slower)' },
  { key: 'headersTimeout', flag: 'headers-timeout', type: 'int', arg: 'SEC', help: 'time allowed to send the request headers (default: 20)' },
  { key: 'requestTimeout', flag: 'request-timeout', type: 'int', arg: 'SEC', help: 'time allowed for a whole request, 0 for none (default: 0)' },
  { key: 'idleTimeout', flag: 'idle-timeout', type: 'int', arg: 'SEC', help: 'silence allowed mid-request before the connection is closed (default: 60)' },
  { key: 'shutdownTimeout', flag: 'shutdown-timeout', type: 'int', arg: 'SEC', help: 'wait for in-flight requests on SIGTERM/SIGINT (default: 10)' },
  { key: 'authMaxFailures', flag: 'auth-max-failures', type: 'int', arg: 'N', help: 'failed logins from one address per --auth-window before a ban, 0 to turn the defender off (default: 10)' },
  { key: 'authMaxUserFailures', flag: 'auth-max-user-failures', type: 'int', arg: 'N', help: 'failed logins on one user name per --auth-window before the addresses that failed on it are banned, 0 for no limit (default: 50)' },
  { key: 'authWindow', flag: 'auth-window', type: 'int', arg: 'SEC', help: 'time over which failed logins are counted (default: 600)' },
  { key: 'authBan', flag: 'auth-ban', type: 'int', arg: 'SEC', help: 'how long a ban for failed logins lasts (default: 900)' },
  { key: 'minBodyRate', flag: 'min-body-rate', type: 'int', arg: 'BYTES', help: 'slowest request body accepted after --body-timeout, bytes/s, 0 for none (default: 500)' },
  { key: 'bodyTimeout', flag: 'body-timeout', type: 'int', arg: 'SEC', help: 'time a request body gets before --min-body-rate applies (default: 20)' },
  { key: 'maxClientConnections', flag: 'max-client-connections', type: 'int', arg: 'N', help: 'open connections allowed per client address, 0 for no cap (default: 64)' },
  { key: 'allowedHosts', flag: 'allowed-hosts', type: 'string', arg: 'HOSTS', help: 'without --htpasswd: Host names accepted besides loopback ones (comma list; * for any)' },
  { key: 'hsts', flag: 'hsts', type: 'int', arg: 'SEC', help: 'send Strict-Transport-Security: max-age=SEC over HTTPS (default: 0, not sent)' },
  { key: 'depthInfinity', flag: 'depth-infinity', type: 'string', arg: 'on|off', help: 'serve PROPFIND Depth: infinity (on, streamed) or refuse it with 403 (off) (default: on)' },
  { key: 'fsInline', flag: 'fs-inline', type: 'string', arg: 'on|off', help: 'small filesystem requests on the event loop while the fs worker is idle (on), or always on the worker (off: a filesystem that can hang) (default: on)' },
  { key: 'hideOsJunk', flag: 'hide-os-junk', type: 'boolean', help: 'accept but never store ._*, .DS_Store, Thumbs.db, desktop.ini (they read as 404)' },
  { key: 'uploadExpiry', flag: 'upload-expiry', type: 'int', arg: 'SEC', help: 'an unfinished resumable (tus) upload is removed this long after its last write (default: 86400)' },
  { key: 'adminPort', flag: 'admin-port', type: 'int', arg: 'N', help: 'serve /metrics, /healthz and /readyz on this port (default: none; 0 picks a free one)' },
  { key: 'adminHost', flag: 'admin-host', type: 'string', arg: 'H', help: 'address of the admin listener (default: 127.0.0.1)' },
];

export const DEFAULTS: ServerOptions = {
  root: './storage',
  host: '127.0.0.1',
  port: 8080,
  prefix: '',
  lockStore: 'file',
  storage: 'fs',
  defaultLockTimeout: 3600,
  maxLockTimeout: 7 * 24 * 3600,
  maxXmlBytes: 1024 * 1024,
  trustProxy: false,
  quiet: false,
  workers: 1,
  realm: 'WebDAV',
  allowAnonymous: false,
  maxUpload: 0,
  logFormat: 'text',
  fsync: false,
  headersTimeout: 20,
  requestTimeout: 0,
  idleTimeout: 60,
  shutdownTimeout: 10,
  authMaxFailures: 10,
  authMaxUserFailures: 50,
  authWindow: 600,
  authBan: 900,
  minBodyRate: 500,
  bodyTimeout: 20,
  maxClientConnections: 64,
  hsts: 0,
  depthInfinity: 'on',
  fsInline: 'on',
  hideOsJunk: false,
  uploadExpiry: 24 * 3600,
  adminHost: '127.0.0.1',
};

export class ConfigError extends Error {}

/** Fills defaults and checks values; throws ConfigError with one clear line. */
export function resolveOptions(partial: Partial<ServerOptions>): ServerOptions {
  const o: ServerOptions = { ...DEFAULTS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
  o.root = resolve(o.root);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new ConfigError(`invalid port: ${o.port}`);
  if (o.adminPort !== undefined) {
    if (!Number.isInteger(o.adminPort) || o.adminPort < 0 || o.adminPort > 65535) throw new ConfigError(`invalid admin port: ${o.adminPort}`);
    if (o.adminPort !== 0 && o.adminPort === o.port) throw new ConfigError(`--admin-port ${o.adminPort} is the WebDAV port: the admin listener needs a port of its own`);
  }
  if (o.prefix) {
    if (!o.prefix.startsWith('/')) o.prefix = '/' + o.prefix;
    o.prefix = o.prefix.replace(/\/+$/, '');
    if (/[?#%\\]/.test(o.prefix) || o.prefix.split('/').some((s) => s === '.' || s === '..')) throw new ConfigError(`invalid prefix: ${partial.prefix}`);
    // hrefs carry the prefix as is and requests are matched against it before decoding: only
    // characters that need no percent-encoding (RFC 3986 pchar) keep both sides in step.
    if (!/^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*$/.test(o.prefix)) {
      throw new ConfigError(`invalid prefix: ${partial.prefix} (only letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ are allowed in its segments; no spaces or non-ASCII characters)`);
    }
  }
  for (const k of ['defaultLockTimeout', 'maxLockTimeout', 'maxXmlBytes', 'uploadExpiry'] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new ConfigError(`invalid ${k}: ${o[k]}`);
  }
  o.depthInfinity = String(o.depthInfinity).toLowerCase();
  if (o.depthInfinity !== 'on' && o.depthInfinity !== 'off') throw new ConfigError(`invalid depth-infinity: ${partial.depthInfinity} (use on or off)`);
  o.fsInline = String(o.fsInline).toLowerCase();
  if (o.fsInline !== 'on' && o.fsInline !== 'off') throw new ConfigError(`invalid fs-inline: ${partial.fsInline} (use on or off)`);
  if (o.logFormat !== 'text' && o.logFormat !== 'json') throw new ConfigError(`invalid log format: ${o.logFormat} (use text or json)`);
  for (const k of ['headersTimeout', 'requestTimeout', 'idleTimeout', 'shutdownTimeout'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new ConfigError(`invalid ${k}: ${o[k]}`);
  }
  if (o.headersTimeout === 0) throw new ConfigError('invalid headersTimeout: 0 (it must be at least 1 second)');
  if (o.requestTimeout > 0 && o.headersTimeout > o.requestTimeout) throw new ConfigError(`headersTimeout (${o.headersTimeout}) cannot exceed requestTimeout (${o.requestTimeout})`);
  if (o.storage !== 'fs' && o.storage !== 'memory') throw new ConfigError(`invalid storage: ${o.storage} (use fs or memory)`);
  if (o.storage === 'memory' && o.workers > 1) throw new ConfigError('--storage memory lives inside one process: it cannot be shared by --workers');
  if (!/^(memory|file|file:.+)$/.test(o.lockStore) && !isRedisUrl(o.lockStore)) {
    throw new ConfigError(`invalid lock store: ${o.lockStore} (use memory, file, file:PATH or redis://host:port/db)`);
  }
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 256) throw new ConfigError(`invalid workers: ${o.workers} (1 to 256)`);
  if (o.workers > 1 && !isRedisUrl(o.lockStore)) {
    throw new ConfigError(`--workers ${o.workers} needs a lock store all workers share: add --lock-store redis://host:port/db (the ${o.lockStore} lock store lives inside one process)`);
  }
  checkSecurityOptions(o);
  return o;
}

/** `redis://[user:pass@]host[:port][/db]` or `rediss://...` (TLS). */
export function isRedisUrl(store: string): boolean {
  if (!/^rediss?:\/\/./.test(store)) return false;
  try {
    const u = new URL(store);
    return u.hostname !== '' && /^\/?(\d+)?$/.test(u.pathname);
  } catch {
    return false;
  }
}
