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

describe('lost database connections', function () {
  this.timeout(180_000);

  before(function () {
    requireOrSkip(this, Boolean(DATABASE_URL), 'Postgres (DATABASE_URL): PGlite runs in the process and has no connection to lose');
  });

  it('the driver settles every query while its connections are terminated: no crash, no hang, and it reconnects', async () => {
    const appName = `kontor_churn_${process.pid}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/pg-churn.ts', withAppName(DATABASE_URL!, appName), '8000'], {
      cwd: path.resolve('.'), env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    await new Promise((r) => setTimeout(r, 1500));
    const killer = churn(appName, 100);
    await new Promise((r) => setTimeout(r, 8000));
    const terminated = await killer.stop();
    const code = await exited(child);
    expect(err, 'nothing thrown out of the driver').to.not.match(/TypeError/);
    expect(code, `the churn process exits cleanly; its stderr:\n${err}`).to.equal(0);
    const report = JSON.parse(out.trim()) as { ok: number; failed: number; okAfterChurn: number; hung: boolean; started: number; unsettled: number };
    expect(terminated, 'connections were terminated').to.be.greaterThan(10);
    expect(report.failed, 'queries failed while their connection died').to.be.greaterThan(0);
    // Known upstream gap (docs/operations.md): on a loaded machine postgres.js can leave one query
    // of thousands unsettled when its connection is terminated at a particular moment. The process
    // survives and serves; the stuck query's caller waits. Bounded here, and printed.
    if (report.hung) console.log(`      (postgres.js left ${report.unsettled} of ${report.started} queries unsettled)`);
    expect(report.unsettled, 'at most a handful of queries stuck').to.be.at.most(Math.max(2, Math.ceil(report.started / 1000)));
    expect(report.okAfterChurn, 'queries succeed again once the churn stops').to.be.greaterThan(0);
  });

  it('a worker whose connections keep dropping stays up and sends every queued email once the database answers again', async function () {
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
      env: { PATH, NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: dataDir, DATABASE_URL: withAppName(DATABASE_URL!, appName), REDIS_URL: REDIS_URL!, QUEUE_PREFIX: prefix, TEST_CLOCK: 'false', DEMO: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    worker.stderr!.on('data', (d) => (log += d));
    const queue = new BullmqQueue(REDIS_URL!, createLogger('silent'), prefix);
    try {
      // Half the jobs are queued before the outage, half during it.
      for (const id of ids.slice(0, 75)) await queue.enqueue(SEND_MAIL_JOB, { id }, { jobId: `mail:${id}` });
      const killer = churn(appName, 150);
      for (const id of ids.slice(75)) await queue.enqueue(SEND_MAIL_JOB, { id }, { jobId: `mail:${id}` });
      await new Promise((r) => setTimeout(r, 8000));
      const terminated = await killer.stop();
      expect(terminated, 'connections were terminated').to.be.greaterThan(5);
      expect(worker.exitCode, `worker still running; its log:\n${log}`).to.equal(null);

      const deadline = Date.now() + 90_000;
      let sent = 0;
      while (Date.now() < deadline) {
        const rows = await db.select({ status: outboxEmails.status }).from(outboxEmails).where(inArray(outboxEmails.id, ids));
        sent = rows.filter((r) => r.status === 'sent').length;
        if (sent === ids.length) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(sent).to.equal(ids.length);
      expect(worker.exitCode, 'worker still running').to.equal(null);
      expect(log).to.not.match(/uncaught exception/);
      // At-least-once: a send whose "sent" mark was lost with its connection is sent again, with
      // the same Message-ID (the outbox id) for the receiver to recognise it.
      const mailDir = path.join(dataDir, 'mail');
      const messageIds = new Set(fs.readdirSync(mailDir).map((f) => /^Message-ID: <([^@>]+)@/im.exec(fs.readFileSync(path.join(mailDir, f), 'utf8'))?.[1]));
      expect([...messageIds].sort()).to.deep.equal([...ids].sort());
    } finally {
      worker.kill('SIGTERM');
      const code = await exited(worker);
      await queue.obliterate().catch(() => {});
      await queue.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      expect(code, `a clean stop on SIGTERM; the worker's log:\n${log}`).to.equal(0);
    }
  });
});
