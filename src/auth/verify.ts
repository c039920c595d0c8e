/**
 * "Is this the user's password?", with the brute-force defender around it: the one check that
 * HTTP Basic authentication and a login form both call. A banned client is refused before any
 * hash is computed; a failure is counted; the check itself runs on the hash pool in the
 * client's turn.
 */
import type { HtpasswdFile } from './htpasswd.js';
import type { Defender } from './defender.js';
import { looksLikeAppPassword, type AppPasswordRecord, type AppPasswords } from './app-passwords.js';

export type AuthOutcome =
  /** With `appPassword` when one of the user's app passwords was used (never cached: revocation is immediate). */
  | { ok: true; user: string; appPassword?: AppPasswordRecord }
  /** No usable credentials, a wrong password or an unknown user (401). */
  | { ok: false; banned: false }
  /** Too many failures from this client (429 + Retry-After). */
  | { ok: false; banned: true; retryAfterSec: number };

export const FAILED: AuthOutcome = { ok: false, banned: false };

export class PasswordVerifier {
  constructor(
    readonly htpasswd: HtpasswdFile,
    readonly defender: Defender,
    readonly appPasswords?: AppPasswords,
  ) {}

  async verify(user: string, password: string, client: string): Promise<AuthOutcome> {
    const ban = await this.defender.check(client, user);
    if (ban) return { ok: false, banned: true, retryAfterSec: ban.retryAfterSec };
    // An app password of a user who is still in the htpasswd file; anything else goes on to the main password.
    if (this.appPasswords && looksLikeAppPassword(password) && (await this.htpasswd.hashOf(user)) !== undefined) {
      const record = await this.appPasswords.verify(user, password, client);
      if (record) return { ok: true, user, appPassword: record };
    }
    if (await this.htpasswd.verify(user, password, client)) return { ok: true, user };
    const caused = await this.defender.failed(client, user);
    return caused ? { ok: false, banned: true, retryAfterSec: caused.retryAfterSec } : FAILED;
  }
}
