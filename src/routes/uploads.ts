/**
 * Resumable uploads (tus 1.0, src/uploads/): `POST <prefix>/.dav/uploads/` creates one,
 * `HEAD|PATCH|DELETE <prefix>/.dav/uploads/<id>` ask, append and abandon. They need a user
 * (read-only users are refused by the authentication middleware, as for any write); OPTIONS,
 * the protocol's discovery, answers anyone. `X-HTTP-Method-Override` lets a client behind a
 * proxy that drops PATCH and DELETE send them as POST (tus core allows it).
 */
import type { FeatureRoutes, RouteContext } from './types.js';
import { Uploads } from '../uploads/service.js';
import { DavError } from '../errors.js';

export const uploadRoutes: FeatureRoutes = ({ services }) => {
  const uploads = new Uploads(services);
  const id = (ctx: RouteContext): string => String(ctx.params.id ?? '');
  const overridden = async (ctx: RouteContext): Promise<void> => {
    const method = ctx.get('x-http-method-override').toUpperCase();
    if (method === 'PATCH') return uploads.patch(ctx, id(ctx));
    if (method === 'DELETE') return uploads.terminate(ctx, id(ctx));
    throw new DavError(405, 'POST on an upload needs X-HTTP-Method-Override: PATCH or DELETE', { headers: { Allow: 'OPTIONS, HEAD, PATCH, DELETE' } });
  };
  return [
    { methods: ['OPTIONS'], path: '/uploads/', access: 'public', handler: (ctx) => uploads.options(ctx) },
    { methods: ['OPTIONS'], path: '/uploads/:id', access: 'public', handler: (ctx) => uploads.options(ctx) },
    { methods: ['POST'], path: '/uploads/', access: 'user', handler: (ctx) => uploads.create(ctx) },
    { methods: ['HEAD'], path: '/uploads/:id', access: 'user', handler: (ctx) => uploads.head(ctx, id(ctx)) },
    { methods: ['PATCH'], path: '/uploads/:id', access: 'user', handler: (ctx) => uploads.patch(ctx, id(ctx)) },
    { methods: ['DELETE'], path: '/uploads/:id', access: 'user', handler: (ctx) => uploads.terminate(ctx, id(ctx)) },
    { methods: ['POST'], path: '/uploads/:id', access: 'user', handler: overridden },
  ];
};
