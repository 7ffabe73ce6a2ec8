// Operator CLI: `npm run kontor -- <command>`. Results go to stdout (scripts capture them),
// messages to stderr.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { createProcessors, jobNames } from '../jobs/processors';
import { createApiKey } from './api-keys/api-keys.usecases';
import { systemActor } from './auth/actor';
import { seedDemo } from './demo/seed';
import { AppError, ValidationError } from './lib/errors';
import { startRuntime } from './runtime';
import { rotateGatewaySecrets } from './payments/gateway-accounts';
import { createPlatformAdmin } from './users/users.usecases';

const usage = `Usage: npm run kontor -- <command>

  migrate                                   apply database migrations
  admin create --email E --password P [--name N]
                                            create a platform owner (the first user)
  key create --scope platform [--name N]    create a platform API key; prints only the key
  key create --scope agency --agency ID     create an agency API key; prints only the key
  job run <name>                            run a job now (${jobNames().join(', ')})
  demo seed                                 seed the demo world into an empty database
  secrets rotate                            re-seal gateway secrets with the first key of SECRET_KEYS
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string' }, agency: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
const [cmd, sub, arg] = positionals;
const err = (s: string) => process.stderr.write(`${s}\n`);

if (!cmd || values.help) {
  err(usage);
  process.exit(cmd ? 0 : 2);
}

const config = loadConfig();
// PGlite migrates at start (as the server does); on Postgres only `migrate` changes the schema,
// and it does so inside startRuntime, before anything (the test clock) reads a table: the
// database may be empty.
const runtime = await startRuntime(config, cmd === 'migrate' ? { migrate: true } : {});
const { deps } = runtime;
let code = 0;
try {
  if (cmd === 'migrate') {
    err('migrations applied');
  } else if (cmd === 'admin' && sub === 'create') {
    const user = await createPlatformAdmin(deps, { email: values.email ?? '', password: values.password ?? '', ...(values.name ? { name: values.name } : {}) });
    err(`platform admin ${user.email} created`);
  } else if (cmd === 'key' && sub === 'create') {
    if (values.scope !== 'platform' && values.scope !== 'agency') throw new AppError('usage', 2, '--scope must be platform or agency');
    const owner = values.scope === 'platform'
      ? { scope: 'platform' as const, agencyId: null, subAccountId: null }
      : { scope: 'agency' as const, agencyId: values.agency ?? '', subAccountId: null };
    if (values.scope === 'agency' && !values.agency) throw new AppError('usage', 2, '--agency ID is required for an agency key');
    const { key } = await createApiKey(deps, { actor: systemActor('cli'), owner, input: { name: values.name ?? 'CLI key' } });
    process.stdout.write(`${key}\n`);
  } else if (cmd === 'secrets' && sub === 'rotate') {
    const { rotated, total } = await rotateGatewaySecrets(deps);
    err(`re-sealed ${rotated} of ${total} gateway accounts with key ${deps.config.secretKeys[0]!.id}`);
  } else if (cmd === 'job' && sub === 'run' && arg) {
    const processor = createProcessors(deps)[arg];
    if (!processor) throw new AppError('usage', 2, `unknown job "${arg}"; jobs: ${jobNames().join(', ')}`);
    const result = await processor({});
    process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
  } else if (cmd === 'demo' && sub === 'seed') {
    err((await seedDemo(deps)) ? 'demo world seeded' : 'database not empty: nothing seeded');
  } else {
    err(usage);
    code = 2;
  }
} catch (e) {
  if (e instanceof ValidationError) err(Object.entries(e.fields).map(([k, v]) => `${k}: ${v}`).join('\n'));
  else if (e instanceof AppError) err(e.message);
  else err(e instanceof Error ? (e.stack ?? e.message) : String(e));
  code = 1;
} finally {
  await runtime.close();
}
process.exit(code);
