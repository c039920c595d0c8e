#!/usr/bin/env node
// A Koa app of its own (GET /hello) that mounts a WebDAV server at /dav/ with @koa/router.
//   node examples/koa-app/server.js --port 3000 --root ./files [--user alice:secret]
import Koa from 'koa';
import Router from '@koa/router';
import { mkdirSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createWebdav, WEBDAV_METHODS } from 'koa-webdav-server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    root: { type: 'string', default: './files' },
    user: { type: 'string' }, // NAME:PASSWORD: the app's own (toy) login, handed to WebDAV
  },
});
mkdirSync(values.root, { recursive: true });

// WebDAV as middleware: locks persist in <root>/.davmeta, the lock store closes with the app.
const webdav = await createWebdav({ root: values.root });

// The host app's own authentication: here one Basic user from the command line. Whatever it
// puts in ctx.state.user (a name, or an object with `username`/`name`/`id`) is the WebDAV user:
// locks remember it and the web page shows it. OPTIONS stays open (Windows asks first).
function login(spec) {
  const [name, password] = [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)];
  const expected = Buffer.from(`Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`);
  return async (ctx, next) => {
    const given = Buffer.from(ctx.get('authorization'));
    if (ctx.method !== 'OPTIONS') {
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        ctx.set('WWW-Authenticate', 'Basic realm="koa-app", charset="UTF-8"');
        ctx.status = 401;
        ctx.body = 'Sign in\n';
        return;
      }
      ctx.state.user = { username: name };
    }
    await next();
  };
}

// `methods: WEBDAV_METHODS` lets allowedMethods() know PROPFIND, LOCK, ... (else it answers 501).
const router = new Router({ methods: WEBDAV_METHODS });
router.get('/hello', (ctx) => {
  ctx.body = 'Hello from the host app\n';
});
const dav = values.user ? [login(values.user), webdav.middleware] : [webdav.middleware];
router.all('/dav{/*path}', ...dav);

const app = new Koa();
app.use(router.routes());
app.use(router.allowedMethods());

const server = app.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  console.log(`koa-app listening on http://${values.host}:${port}/ (GET /hello; WebDAV at /dav/)`);
});
// Large uploads can take longer than Node's default 5-minute request timeout; instead, the
// server's connection guards cut bodies that trickle in (slower than 500 bytes/s after 20 s)
// and cap connections per client address (64). They act on every request this app serves.
server.requestTimeout = 0;
webdav.guard(server);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(async () => {
      await webdav.close();
      process.exit(0);
    });
    server.closeIdleConnections();
  });
}
