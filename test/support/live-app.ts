import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp } from '../../src/web/app';
import { makeTestDeps, type TestDeps } from './deps';

export interface LiveApp {
  deps: TestDeps;
  app: Express;
  /** http://127.0.0.1:<port>: the app's PUBLIC_URL and SANDBOX_URL. */
  base: string;
  close(): Promise<void>;
}

/**
 * The whole app on a real local port, with the gateway sandboxes it serves itself: the port is
 * taken before the app is built, so PUBLIC_URL (browser links) and SANDBOX_URL (the gateway
 * clients' server-to-server calls) point at this very server.
 */
export async function startLiveApp(opts: { config?: Record<string, string>; start?: Date } = {}): Promise<LiveApp> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deps = await makeTestDeps({ config: { PUBLIC_URL: base, SANDBOX_URL: base, GATEWAY_TIMEOUT_MS: '1500', ...opts.config }, ...(opts.start ? { start: opts.start } : {}) });
  const app = createApp(deps);
  server.on('request', app);
  return {
    deps,
    app,
    base,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await deps.close();
    },
  };
}
