/**
 * Checks of the security options (called from resolveOptions) and the safe-default rule: a
 * server reachable from other machines needs authentication, or an explicit --allow-anonymous.
 */
import { isIP } from 'node:net';
import { ConfigError, type ServerOptions } from '../config.js';

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/** Parses --cors-origin: a comma list of origins (scheme://host[:port]) or `*`. */
export function parseCorsOrigins(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const o = raw.trim().replace(/\/+$/, '');
    if (!o) continue;
    if (o !== '*') {
      let u: URL;
      try {
        u = new URL(o);
      } catch {
        throw new ConfigError(`invalid --cors-origin ${o} (use scheme://host[:port])`);
      }
      if (u.origin !== o.toLowerCase() && u.origin !== o) throw new ConfigError(`invalid --cors-origin ${o} (an origin has no path, e.g. https://app.example.com)`);
    }
    out.push(o);
  }
  return out;
}

/** Parses --allowed-hosts: a comma list of host names or addresses (no port), or `*`. */
export function parseAllowedHosts(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const h = raw.trim().toLowerCase();
    if (!h) continue;
    const bare = h.replace(/^\[(.*)\]$/, '$1');
    if (h !== '*' && isIP(bare) === 0 && !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(h)) {
      throw new ConfigError(`invalid --allowed-hosts entry ${raw.trim()} (a host name or address without port, or *)`);
    }
    out.push(bare);
  }
  return out;
}

export function checkSecurityOptions(o: ServerOptions): void {
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together');
  if (o.users && !o.htpasswd) throw new ConfigError('--users needs --htpasswd (who the users are is checked against it)');
  if (!Number.isInteger(o.maxUpload) || o.maxUpload < 0) throw new ConfigError(`invalid maxUpload: ${o.maxUpload}`);
  if (!o.realm || /["\\\x00-\x1f\x7f]/.test(o.realm)) throw new ConfigError('--realm must be non-empty, without quotes, backslashes or control characters');
  parseCorsOrigins(o.corsOrigin);
  parseAllowedHosts(o.allowedHosts);
  for (const k of ['authMaxFailures', 'authMaxUserFailures', 'minBodyRate', 'maxClientConnections', 'hsts'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new ConfigError(`invalid ${k}: ${o[k]}`);
  }
  for (const k of ['authWindow', 'authBan', 'bodyTimeout'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new ConfigError(`invalid ${k}: ${o[k]} (at least 1 second)`);
  }
  if (!isLoopback(o.host) && !o.htpasswd && !o.allowAnonymous) {
    throw new ConfigError(
      `refusing to listen on ${o.host} without authentication: pass --htpasswd FILE, or --allow-anonymous if anyone who can reach this address may read and change the files`,
    );
  }
}

/** Warnings the CLI prints at start-up. */
export function securityWarnings(o: ServerOptions): string[] {
  const w: string[] = [];
  if (!isLoopback(o.host) && !o.htpasswd) w.push(`WARNING: serving ${o.root} on ${o.host} to anyone without authentication (--allow-anonymous)`);
  if (!isLoopback(o.host) && !o.htpasswd && !o.allowedHosts && !o.trustProxy) {
    w.push(`Note: without authentication only loopback names and address literals are served as Host (DNS rebinding guard); add --allowed-hosts NAME for host names`);
  }
  if (!isLoopback(o.host) && o.htpasswd && !o.tlsCert) w.push(`WARNING: Basic authentication over plain HTTP on ${o.host}: passwords cross the network readable; use --tls-cert/--tls-key`);
  return w;
}
