/**
 * The package's public API. `createWebdav` mounts the server in a Koa app; `startServer` runs it
 * standalone as the CLI does; `WEBDAV_METHODS` is the method list a host app's @koa/router needs
 * in its `methods` option when it uses `allowedMethods()`.
 */
export { createWebdav, type Webdav, type WebdavOptions, type WebdavUser } from './embed.js';
export { startServer, type RunningServer } from './app.js';
export { ConfigError, type ServerOptions } from './config.js';
export { WEBDAV_METHODS } from './routes/index.js';
export type { Readiness, Check } from './admin/health.js';
export type { ConnectionStats } from './middleware/connections.js';
