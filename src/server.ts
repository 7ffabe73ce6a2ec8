// Web entry (Procfile "web", and `npm start` for the demo). Without REDIS_URL the jobs run in
// this process too, so one command runs everything.
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../config';
import { departments, users } from '../db/schema';
import { createProcessors, TICK_EVERY_MS, TICK_JOB } from '../jobs/processors';
import { DEMO_KEY_LIST, DEMO_KEYS, DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from './demo/seed';
import { createLogger } from './lib/logger';
import { installProcessGuards } from './lib/process-guards';
import { WEBHOOK_DELIVERY_EVERY_MS, WEBHOOK_DELIVERY_JOB } from './webhooks/deliver';
import { PUSH_SWEEP_EVERY_MS, PUSH_SWEEP_JOB } from './notifications/push';
import { stopOnSignals } from './lib/shutdown';
import { startRuntime } from './runtime';
import { createApp, createWebContext } from './web/app';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

// Guards first: a connection dropped during start-up can reject a statement nobody awaits.
const logger = createLogger(config.logLevel);
installProcessGuards(logger, 'web');
const runtime = await startRuntime(config, { logger });
const { deps, database } = runtime;
if (deps.queue.kind === 'inline') {
  await deps.queue.work(createProcessors(deps), { timeoutMs: config.jobTimeoutMs });
  await deps.queue.schedule('tick', TICK_JOB, TICK_EVERY_MS);
  await deps.queue.schedule('webhooks', WEBHOOK_DELIVERY_JOB, WEBHOOK_DELIVERY_EVERY_MS);
  // Mobile push only with VAPID keys: otherwise there is nothing to send (src/notifications/push.ts).
  if (deps.config.vapid) await deps.queue.schedule('push', PUSH_SWEEP_JOB, PUSH_SWEEP_EVERY_MS);
}

if (config.demo) await seedDemo(deps);
const web = createWebContext(deps);
const app = createApp(deps, web);
const server = app.listen(config.port, config.host, async () => {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out();
  out(`Kontor is running at ${config.publicUrl}`);
  out(`  database: ${database.driver === 'pglite' ? `PGlite in ${config.dataDir}/pglite` : 'Postgres (DATABASE_URL)'}`);
  out(`  jobs:     ${deps.queue.kind === 'bullmq' ? 'BullMQ on Redis (run `npm run worker` too)' : 'in-process'}`);
  out(`  mail:     ${deps.mailer.destination}`);
  if (deps.testClock) out(`  clock:    test clock enabled (${deps.clock.now().toISOString()})`);
  const [demoAdmin] = config.demo ? await deps.db.select({ id: users.id }).from(users).where(eq(users.email, DEMO_LOGINS[0].email)) : [];
  if (demoAdmin) {
    out();
    out(`Demo logins (password for all: ${DEMO_PASSWORD}):`);
    for (const l of DEMO_LOGINS) out(`  ${l.email.padEnd(24)} ${l.where}`);
    out();
    out('Demo API keys (public demo data; try: curl -H "Authorization: Bearer <key>" ' + `${config.publicUrl}/api/v1/me):`);
    for (const k of DEMO_KEY_LIST) out(`  ${k.scope.padEnd(12)} ${k.key}  ${k.what}`);
    const [sales] = await deps.db.select({ id: departments.id }).from(departments).where(eq(departments.name, 'Sales')).limit(1);
    if (sales) {
      out();
      out('Try the usage API (10 credits for a new conversation in Sales, 0 when repeated):');
      out(`  curl -s -X POST -H "Authorization: Bearer ${DEMO_KEYS.atlasClient}" -H 'Content-Type: application/json' \\`);
      out(`    -d '{"conversationId":"demo-1","departmentId":"${sales.id}"}' ${config.publicUrl}/api/v1/usage`);
    }
  }
  out();
});

// Stop taking requests, let queued usage commit, record key usage, then the runtime's steps (jobs
// running in-process finish, connections close). Past SHUTDOWN_TIMEOUT_MS: logged, exit 1.
stopOnSignals({
  logger: deps.logger,
  role: 'web',
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    // Not awaited: close() would wait for every kept-alive connection; the steps below are the work that must finish.
    { name: 'stop taking requests', run: async () => void server.close() },
    { name: 'queued usage commits', run: () => web.recorder.whenIdle() },
    { name: 'API key usage recorded', run: () => web.keyCache.flushUsage() },
    ...runtime.closeSteps,
  ],
  inProgress: () => ({ runningJobs: deps.queue.running() }),
});
