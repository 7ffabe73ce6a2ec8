import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { openDatabase } from '../db/client';
import { authenticateApiKey } from '../src/api-keys/api-keys.usecases';
import { testDatabase } from './support/db';
import { DATABASE_URL, PATH } from './support/env';

const run = promisify(execFile);

/** The operator CLI as an operator runs it: a separate process, configured by environment. */
describe('operator CLI', function () {
  // Each call starts a process that loads the app: seconds each on a loaded 2-core machine.
  this.timeout(180_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  const email = `ops-${Date.now()}@example.test`;
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, cwd: path.resolve('.') });

  before(async () => {
    await testDatabase(); // on Postgres, the CLI works on the run's (migrated) database
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-cli-'));
    env = { PATH, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...(DATABASE_URL ? { DATABASE_URL } : {}) };
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('migrates, creates the first admin, and prints only a new platform key on stdout', async () => {
    await cli('migrate');
    const admin = await cli('admin', 'create', '--email', email, '--password', 'operator-password');
    expect(admin.stdout).to.equal('');
    expect(admin.stderr).to.contain(`platform admin ${email} created`);
    const { stdout } = await cli('key', 'create', '--scope', 'platform', '--name', 'bootstrap');
    expect(stdout).to.match(/^kt_plt_[\w-]+\n$/);
    const key = stdout.trim();
    const database = DATABASE_URL ? await testDatabase() : await openDatabase({ pgliteDir: path.join(dataDir, 'pglite') });
    const actor = await authenticateApiKey(database.db, key, new Date());
    if (!DATABASE_URL) await database.close();
    expect(actor).to.include({ kind: 'api_key', scope: 'platform' });
  });

  it('refuses a weak password and a duplicate admin with a message and exit code 1', async () => {
    const err = await cli('admin', 'create', '--email', 'weak@example.test', '--password', 'short').catch((e: { code: number; stderr: string }) => e);
    expect(err).to.include({ code: 1 });
    expect((err as { stderr: string }).stderr).to.contain('password: Use at least 10 characters.');
    const common = await cli('admin', 'create', '--email', 'common@example.test', '--password', 'password123').catch((e: { code: number; stderr: string }) => e);
    expect(common).to.include({ code: 1 });
    expect((common as { stderr: string }).stderr).to.contain('password: This password is one of the most common ones');
    const own = await cli('admin', 'create', '--email', 'grace.hopper@example.test', '--password', 'graceHopper-1906').catch((e: { code: number; stderr: string }) => e);
    expect(own).to.include({ code: 1 });
    expect((own as { stderr: string }).stderr).to.contain('password: Do not use your email address or your name in your password.');
    const dup = await cli('admin', 'create', '--email', email, '--password', 'operator-password').catch((e: { code: number; stderr: string }) => e);
    expect(dup).to.include({ code: 1 });
    expect((dup as { stderr: string }).stderr).to.contain('A user with this email already exists.');
  });

  it('runs a job now and prints its result', async () => {
    const { stdout } = await cli('job', 'run', 'tick');
    expect(JSON.parse(stdout)).to.have.property('emailsRequeued');
    const err = await cli('job', 'run', 'nope').catch((e: { code: number; stderr: string }) => e);
    expect((err as { stderr: string }).stderr).to.contain('unknown job "nope"');
  });

  it('migrates an empty Postgres database with every setting (test clock on, demo off)', async function () {
    if (!DATABASE_URL) return this.skip(); // PGlite: every test above starts from an empty folder already
    const name = `kontor_empty_${process.pid}_${Date.now()}`;
    const admin = new URL(DATABASE_URL);
    const adminDb = await openDatabase({ databaseUrl: DATABASE_URL, poolSize: 1 });
    await adminDb.raw!.unsafe(`create database ${name}`);
    try {
      admin.pathname = `/${name}`;
      const { stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
        env: { ...env, DATABASE_URL: admin.toString(), TEST_CLOCK: 'true', DEMO: 'false', LOG_LEVEL: 'info' }, cwd: path.resolve('.'),
      });
      expect(stderr).to.contain('migrations applied');
      const fresh = await openDatabase({ databaseUrl: admin.toString(), poolSize: 1 });
      const rows = await fresh.raw!.unsafe(`select count(*)::int as n from platform`);
      await fresh.close();
      expect(rows[0]!.n).to.equal(1);
    } finally {
      await adminDb.raw!.unsafe(`drop database if exists ${name} with (force)`);
      await adminDb.close();
    }
  });
});
