/** The file page's own endpoints: sign in and out, and the Connect page with its Windows .reg file. */
import type { FeatureRoutes } from './types.js';
import { loginGet, loginPost, logoutPost } from '../browser/login.js';
import { serveConnect, serveReg } from '../browser/connect.js';

export const pageRoutes: FeatureRoutes = () => [
  { methods: ['GET'], path: '/login', access: 'public', handler: loginGet },
  { methods: ['POST'], path: '/login', access: 'public', handler: loginPost },
  { methods: ['POST'], path: '/logout', access: 'public', handler: logoutPost },
  { methods: ['GET'], path: '/connect', access: 'user', handler: serveConnect },
  { methods: ['GET'], path: '/connect/webclient.reg', access: 'user', handler: serveReg },
];
