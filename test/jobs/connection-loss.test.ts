// Lost database connections: the driver settles every query (no uncatchable crash, no hang) and
// a real worker process keeps running, reconnects and finishes its jobs once the database is back.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { inArray, sql } from 'drizzle-orm';
import { outboxEmails } from '../../db/schema';
import { newId } from '../../src/lib/ids';
import { createLogger } from '../../src/lib/logger';
import { SEND_MAIL_JOB } from '../../src/mail/outbox';
import { BullmqQueue } from '../../src/queue';
import { resetData, testDatabase } from '../support/db';
import { DATABASE_URL, PATH, REDIS_URL, requireOrSkip } from '../support/env';

const withAppName = (url: string, name: string) => {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
};

/** Terminates every backend of one application name, every `everyMs`, until stopped. */
function churn(appName: string, everyMs: number) {
  let stop = false;
  let terminated = 0;
  const running = (async () => {
    const { db } = await testDatabase();
    while (!stop) {
      const res = await db.execute(sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = ${appName}`);
      terminated += Number((res as unknown as { n: number }[])[0]?.n ?? 0);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: async () => { stop = true; await running; return terminated; } };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The child's exit code, or 'still running' once `ms` have passed. */
async function exitWithin(child: ChildProcess, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), ms)));
  try {
    return await Promise.race([exited(child), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `done()` (checked every 100 ms) or `ms` have passed; says which. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * SIGTERM, then at most `ms` for the child to exit; SIGKILL if it has not. Never hangs: a child
 * that does not stop is a test failure with its log, not a mocha timeout.
 */
async function stop(child: ChildProcess, ms: number): Promise<{ code: number | null; killed: boolean; ms: number }> {
  const started = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, killed: false, ms: 0 };
  child.kill('SIGTERM');
  const code = await exitWithin(child, ms);
  if (code !== 'still running') return { code, killed: false, ms: Date.now() - started };
  child.kill('SIGKILL');
  await exitWithin(child, 5000);
  return { code: null, killed: true, ms: Date.now() - started };
}

// Every wait below is bounded, and each test's timeout is above the sum of its bounds: whatever
// goes wrong is reported by an assertion with the child's output, not by mocha's timeout.
const START_MS = 60_000; // a child's start (tsx compiling, first connection) on a loaded machine
const CHURN_MS = 8000;

describe('lost database connections', function () {
  before(async function () {
    requireOrSkip(this, Boolean(DATABASE_URL), 'Postgres (DATABASE_URL): PGlite runs in the process and has no connection to lose');
    // The terminator's connection. When this file runs first, that is also where the run's
    // database is created and migrated: done here, not inside a churn window.
    this.timeout(START_MS);
    await testDatabase();
  });

  it('the driver settles every query while its connections are terminated: no crash, no hang, and it reconnects', async function () {
    // test/support/pg-churn.ts reports CHURN_MS + 3 s + 25 s after it is ready at the latest,
    // then takes at most 5 s to close; 15 s more for a loaded machine.
    const EXIT_MS = CHURN_MS + 3000 + 25_000 + 5000 + 15_000;
    this.timeout(START_MS + CHURN_MS + EXIT_MS + 30_000);
    const appName = `kontor_churn_${process.pid}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/pg-churn.ts', withAppName(DATABASE_URL!, appName), String(CHURN_MS)], {
      cwd: path.resolve('.'), env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    let killer: ReturnType<typeof churn> | undefined;
    try {
      const ready = await until(() => out.startsWith('ready\n') || child.exitCode !== null, START_MS);
      expect(ready && child.exitCode === null, `the churn process is connected within ${START_MS / 1000} s; its stderr:\n${err}`).to.equal(true);
      killer = churn(appName, 100);
      await sleep(CHURN_MS);
      const terminated = await killer.stop();
      const code = await exitWithin(child, EXIT_MS);
      expect(err, 'nothing thrown out of the driver').to.not.match(/TypeError/);
      expect(code, `the churn process exits cleanly within ${EXIT_MS / 1000} s of the churn's end; its stderr:\n${err}`).to.equal(0);
      const report = JSON.parse(out.slice('ready\n'.length).trim()) as { ok: number; failed: number; okAfterChurn: number; hung: boolean; started: number; unsettled: number; slowestMs: number };
      expect(terminated, 'connections were terminated').to.be.greaterThan(10);
      expect(report.failed, 'queries failed while their connection died').to.be.greaterThan(0);
      // Known upstream gap (docs/operations.md): on a loaded machine postgres.js can leave one query
      // of thousands unsettled when its connection is terminated at a particular moment. The process
      // survives and serves; the stuck query's caller waits. Bounded here, and printed.
      if (report.hung) console.log(`      (postgres.js left ${report.unsettled} of ${report.started} queries unsettled, ${terminated} connections terminated; the slowest that settled took ${(report.slowestMs / 1000).toFixed(1)} s)`);
      expect(report.unsettled, 'at most a handful of queries stuck').to.be.at.most(Math.max(2, Math.ceil(report.started / 1000)));
      expect(report.okAfterChurn, 'queries succeed again once the churn stops').to.be.greaterThan(0);
    } finally {
      await killer?.stop().catch(() => 0); // stopped already unless something above threw
      const stopped = await stop(child, 1000); // gone already unless an assertion above failed
      if (stopped.killed) console.log('      (the churn process did not stop on SIGTERM: killed)');
    }
  });

  it('a worker whose connections keep dropping stays up and sends every queued email once the database answers again', async function () {
    // Bounds: the worker's start, the churn, the sends, and its stop (SIGTERM, then SIGKILL).
    const SEND_MS = 90_000;
    // The worker gives up stopping after SHUTDOWN_TIMEOUT_MS (20 s, passed below) by itself.
    const STOP_MS = 30_000;
    this.timeout(START_MS + CHURN_MS + SEND_MS + STOP_MS + 5000 + 20_000);
    requireOrSkip(this, Boolean(REDIS_URL), 'Redis (REDIS_URL): the worker process consumes BullMQ');
    await resetData();
    const { db } = await testDatabase();
    const appName = `kontor_worker_${process.pid}`;
    const prefix = `kontor-test-${newId('q')}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-worker-'));
    const ids = Array.from({ length: 150 }, () => newId('eml'));
    const now = new Date();
    await db.insert(outboxEmails).values(ids.map((id) => ({ id, idempotencyKey: id, to: ['client@example.test'], subject: `Notice ${id}`, text: 'Hello', createdAt: now })));

    const worker = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts'], {
      cwd: path.resolve('.'),
      env: {
        PATH, NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir, DATABASE_URL: withAppName(DATABASE_URL!, appName), REDIS_URL: REDIS_URL!, QUEUE_PREFIX: prefix, TEST_CLOCK: 'false', DEMO: 'false',
        // postgres.js can leave a query unsettled for good (docs/operations.md): the job attempt
        // waiting for it fails after 15 s and is retried well within SEND_MS.
        JOB_TIMEOUT_MS: '15000',
        SHUTDOWN_TIMEOUT_MS: '20000',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    worker.stderr!.on('data', (d) => (log += d));
    const queue = new BullmqQueue(REDIS_URL!, createLogger('silent'), prefix);
    let stopped: Awaited<ReturnType<typeof stop>> | undefined;
    let killer: ReturnType<typeof churn> | undefined;
    try {
      // Half the jobs are queued before the outage, half during it. The outage starts once the
      // worker has started (a worker starting during an outage: the next test).
      for (const id of ids.slice(0, 75)) await queue.enqueue(SEND_MAIL_JOB, { id }, { jobId: `mail:${id}` });
      const started = await until(() => log.includes('"msg":"worker started"') || worker.exitCode !== null, START_MS);
      expect(started && worker.exitCode === null, `the worker starts within ${START_MS / 1000} s; its log:\n${log}`).to.equal(true);
      killer = churn(appName, 150);
      for (const id of ids.slice(75)) await queue.enqueue(SEND_MAIL_JOB, { id }, { jobId: `mail:${id}` });
      await sleep(CHURN_MS);
      const terminated = await killer.stop();
      expect(terminated, 'connections were terminated').to.be.greaterThan(5);
      expect(worker.exitCode, `worker still running; its log:\n${log}`).to.equal(null);

      const deadline = Date.now() + SEND_MS;
      let sent = 0;
      while (Date.now() < deadline) {
        const rows = await db.select({ status: outboxEmails.status }).from(outboxEmails).where(inArray(outboxEmails.id, ids));
        sent = rows.filter((r) => r.status === 'sent').length;
        if (sent === ids.length) break;
        await sleep(500);
      }
      expect(sent, `emails sent within ${SEND_MS / 1000} s of the churn's end; the worker's log:\n${log}`).to.equal(ids.length);
      expect(worker.exitCode, `worker still running; its log:\n${log}`).to.equal(null);
      expect(log).to.not.match(/uncaught exception/);
      // At-least-once: a send whose "sent" mark was lost with its connection (or whose attempt
      // passed its deadline) is sent again, with the same Message-ID (the outbox id) for the
      // receiver to recognise it.
      const mailDir = path.join(dataDir, 'mail');
      const messageIds = new Set(fs.readdirSync(mailDir).filter((f) => f.endsWith('.eml')).map((f) => /^Message-ID: <([^@>]+)@/im.exec(fs.readFileSync(path.join(mailDir, f), 'utf8'))?.[1]));
      expect([...messageIds].sort()).to.deep.equal([...ids].sort());
    } finally {
      await killer?.stop().catch(() => 0);
      stopped = await stop(worker, STOP_MS);
      if (stopped.killed) console.log(`      (the worker did not exit within ${STOP_MS / 1000} s of SIGTERM: killed; its log:\n${log})`);
      await queue.obliterate().catch(() => {});
      await queue.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    expect(stopped, `a clean stop on SIGTERM within ${STOP_MS / 1000} s; the worker's log:\n${log}`).to.deep.include({ code: 0, killed: false });
  });

  it('a worker whose first start-up query loses its connection retries it and starts', async function () {
    // The soak test once saw a restarted worker exit by itself: its first query (the platform row)
    // met a terminated backend before the process guards were installed. Made certain here: the
    // platform table is locked, so the worker's first query waits on it; that backend is then
    // terminated, and the lock released.
    const STOP_MS = 30_000;
    this.timeout(2 * START_MS + STOP_MS + 20_000);
    requireOrSkip(this, Boolean(REDIS_URL), 'Redis (REDIS_URL): the worker process consumes BullMQ');
    const { db } = await testDatabase();
    const appName = `kontor_start_${process.pid}`;
    const prefix = `kontor-test-${newId('q')}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-worker-'));
    let log = '';
    let worker: ChildProcess | undefined;
    let stopped: Awaited<ReturnType<typeof stop>> | undefined;
    try {
      let terminated = 0;
      await db.transaction(async (tx) => {
        await tx.execute(sql`lock table platform in access exclusive mode`);
        worker = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts'], {
          cwd: path.resolve('.'),
          env: {
            PATH, NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir, DATABASE_URL: withAppName(DATABASE_URL!, appName), REDIS_URL: REDIS_URL!, QUEUE_PREFIX: prefix, TEST_CLOCK: 'false', DEMO: 'false',
            SHUTDOWN_TIMEOUT_MS: '20000',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        worker.stderr!.on('data', (d) => (log += d));
        const deadline = Date.now() + START_MS;
        while (Date.now() < deadline && worker.exitCode === null) {
          const rows = (await db.execute(sql`select count(*)::int as n from pg_stat_activity where application_name = ${appName} and wait_event_type = 'Lock'`)) as unknown as { n: number }[];
          if (Number(rows[0]?.n) > 0) break;
          await sleep(50);
        }
        const res = (await db.execute(sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = ${appName}`)) as unknown as { n: number }[];
        terminated = Number(res[0]?.n ?? 0);
        await sleep(500);
      });
      expect(terminated, `the worker's first query was waiting and was terminated; its log:\n${log}`).to.be.greaterThan(0);
      const started = await until(() => log.includes('"msg":"worker started"') || worker!.exitCode !== null, START_MS);
      expect(started && worker!.exitCode === null, `the worker starts; its log:\n${log}`).to.equal(true);
      expect(log, 'the lost start-up query was retried').to.match(/connection lost during start-up: retrying/);
      expect(log).to.not.match(/uncaught exception/);
    } finally {
      if (worker) stopped = await stop(worker, STOP_MS);
      const queue = new BullmqQueue(REDIS_URL!, createLogger('silent'), prefix);
      await queue.obliterate().catch(() => {});
      await queue.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    expect(stopped, `a clean stop on SIGTERM; the worker's log:\n${log}`).to.deep.include({ code: 0, killed: false });
  });
});
