/**
 * The signed-in user's app passwords: `GET <prefix>/.dav/app-passwords` (JSON list, with last
 * use), `POST` the same URL `{ label, expires: "30d", scope: "/path", readOnly }` (201 with the
 * password: the only time it is shown), `DELETE <prefix>/.dav/app-passwords/<label>`. Only the
 * user themself, signed in with the main password (src/routes/account.ts).
 */
import { DavError } from '../errors.js';
import { checkLabel, type AppPasswordInfo, type AppPasswordRecord } from '../auth/app-passwords.js';
import { cleanPath } from '../auth/user-rights.js';
import { parseDuration } from '../util/duration.js';
import type { DavRoute, FeatureRoutes, RouteContext, RouteDeps } from './types.js';
import { accountUser, optString, readJson, sendJson } from './account.js';

const view = (r: AppPasswordInfo | AppPasswordRecord): Record<string, unknown> => {
  const { hash: _h, ...rest } = r as AppPasswordRecord & Partial<AppPasswordInfo>;
  return { lastUsed: null, ...rest };
};

export const appPasswordRoutes: FeatureRoutes = (deps: RouteDeps): DavRoute[] => {
  const store = (): NonNullable<RouteDeps['appPasswords']> => {
    if (!deps.appPasswords) throw new DavError(404, 'App passwords need authentication (--htpasswd)');
    return deps.appPasswords;
  };

  async function list(ctx: RouteContext): Promise<void> {
    const user = accountUser(ctx);
    sendJson(ctx, 200, { appPasswords: (await store().list(user)).map(view) });
  }

  async function create(ctx: RouteContext): Promise<void> {
    const user = accountUser(ctx);
    const body = await readJson(ctx);
    const label = optString(body.label, 'label');
    const expires = optString(body.expires, 'expires');
    const scope = optString(body.scope, 'scope');
    let expiresInMs: number | undefined;
    try {
      expiresInMs = expires === undefined ? undefined : parseDuration(expires);
    } catch (e) {
      throw new DavError(400, (e as Error).message);
    }
    const { password, record } = await store().create(user, {
      label: label === undefined ? undefined : checkLabel(label),
      expiresInMs,
      scope: scope === undefined ? undefined : cleanPath(scope),
      readOnly: body.readOnly === true,
    });
    sendJson(ctx, 201, { ...view(record), password });
  }

  async function revoke(ctx: RouteContext): Promise<void> {
    const user = accountUser(ctx);
    if (!(await store().revoke(user, String(ctx.params.label ?? '')))) throw new DavError(404, 'You have no app password with that label');
    ctx.status = 204;
    ctx.body = null;
  }

  return [
    { methods: ['GET'], path: '/app-passwords', access: 'user', handler: list },
    { methods: ['POST'], path: '/app-passwords', access: 'user', account: true, handler: create },
    { methods: ['DELETE'], path: '/app-passwords/:label', access: 'user', account: true, handler: revoke },
  ];
};
