// `npm run sandboxes`: the offline gateway sandboxes alone, on SANDBOX_PORT, for a setup where the
// web processes should not serve them (several web processes sharing one sandbox state, say).
// Point the app's SANDBOX_URL here; the sandboxes deliver their webhooks to the app's PUBLIC_URL.
// Never in production.
import express from 'express';
import { ConfigError, loadConfig } from '../config';
import { installProcessGuards } from '../src/lib/process-guards';
import { startRuntime } from '../src/runtime';
import { mountSandboxes } from './mount';

let config;
try {
  config = loadConfig();
  if (config.isProduction || config.sandboxUrl === null) throw new ConfigError('The gateway sandboxes never run in production.');
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
const runtime = await startRuntime(config, { bootstrap: false });
installProcessGuards(runtime.deps.logger, 'sandboxes');
const app = express();
app.disable('x-powered-by');
mountSandboxes(app, runtime.deps, { pagesUrl: config.sandboxUrl, webhookBase: config.publicUrl });
app.use((_req, res) => void res.status(404).json({ error: 'not_found', message: 'No sandbox here.' }));
const server = app.listen(config.sandboxPort, config.host, () => {
  const port = (server.address() as { port: number }).port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  process.stdout.write(`Gateway sandboxes listening on http://${host}:${port} (NestPay /sandbox/nestpay, iyzico /sandbox/iyzico, Stripe /v1 and /sandbox/stripe)\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close();
    void runtime.close().finally(() => process.exit(0));
  });
}
