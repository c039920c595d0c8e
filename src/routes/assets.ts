/** The web page's script and stylesheet: public, the same bytes for everyone (no file, no user). */
import type { FeatureRoutes } from './types.js';
import { serveAsset } from '../browser/assets.js';

export const assetRoutes: FeatureRoutes = () => [
  { methods: ['GET'], path: '/assets/:name', access: 'public', handler: (ctx) => serveAsset(ctx, String(ctx.params.name ?? '')) },
];
