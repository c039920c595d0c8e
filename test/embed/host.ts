/** A host Koa app on an ephemeral loopback port, for the embedding tests. */
import Koa from 'koa';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, type ReqOptions, type Res, type TestServer } from '../helpers/server.js';

export interface Host {
  base: string;
  server: Server;
  req(method: string, path: string, opts?: ReqOptions): Promise<Res>;
  /** The same, shaped for the helpers in test/helpers/dav.ts (lockOk, putOk, ...). */
  asTestServer(root: string): TestServer;
  close(): Promise<void>;
}

export async function listen(app: Koa): Promise<Host> {
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const req = (method: string, path: string, opts?: ReqOptions): Promise<Res> => request(base, method, path, opts);
  return {
    base,
    server,
    req,
    asTestServer: (root) => ({ base, root, req, running: undefined as never, close: async () => undefined }),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
