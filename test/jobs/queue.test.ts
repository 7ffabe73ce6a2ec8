import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { outboxEmails } from '../../db/schema';
import { createProcessors } from '../../jobs/processors';
import { createLogger, type Logger } from '../../src/lib/logger';
import { dispatchEmails, queueEmail, sendQueuedEmail } from '../../src/mail/outbox';
import { BullmqQueue, InlineQueue, JobTimeoutError, type Queue } from '../../src/queue';
import { newId } from '../../src/lib/ids';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { DATABASE_URL, REDIS_URL, requireOrSkip } from '../support/env';
import { capturingLogger } from '../support/logs';

const logger = createLogger('silent');

/** Fails with `what` instead of waiting for mocha's timeout when `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} (still waiting after ${ms} ms)`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function queueContract(name: string, make: (log?: Logger) => Queue | undefined, available: () => boolean) {
  describe(`${name} queue`, () => {
    let queue: Queue;
    before(function () {
      requireOrSkip(this, available(), 'REDIS_URL pointing at a running Redis');
      queue = make()!;
    });
    after(async () => {
      if (!queue) return;
      if (queue instanceof BullmqQueue) await queue.obliterate();
      await queue.close();
    });

    it('runs a job once per jobId however often it is enqueued, and retries a failure', async () => {
      const seen: string[] = [];
      let failures = 0;
      await queue.work({
        once: async (d) => void seen.push(String(d.n)),
        flaky: async () => {
          if (failures++ < 1) throw new Error('transient');
          seen.push('flaky-ok');
        },
      });
      await queue.enqueue('once', { n: 1 }, { jobId: 'same' });
      await queue.enqueue('once', { n: 2 }, { jobId: 'same' });
      await queue.enqueue('flaky', {}, { attempts: 3 });
      await new Promise((r) => setTimeout(r, 50));
      await queue.drain();
      expect(seen.filter((s) => s !== 'flaky-ok')).to.deep.equal(['1']);
      expect(seen).to.include('flaky-ok');
      expect(failures).to.equal(2);
    });

    it('a job that used up its retries runs again when enqueued again with its jobId (the fault is gone)', async () => {
      const queue = make()!; // its own worker and processors
      let down = true;
      const runs: string[] = [];
      await queue.work({
        deliver: async () => {
          runs.push(down ? 'failed' : 'delivered');
          if (down) throw new Error('mail server down');
        },
      });
      await queue.enqueue('deliver', {}, { jobId: 'deliver:1', attempts: 1 });
      await new Promise((r) => setTimeout(r, 50));
      await queue.drain();
      expect(runs).to.deep.equal(['failed']);
      down = false;
      await queue.enqueue('deliver', {}, { jobId: 'deliver:1', attempts: 1 });
      await new Promise((r) => setTimeout(r, 50));
      await queue.drain();
      expect(runs).to.deep.equal(['failed', 'delivered']);
      if (queue instanceof BullmqQueue) await queue.obliterate();
      await queue.close();
    });

    it("a job's log lines and its failures carry the job's name, id and attempt", async () => {
      const logs = capturingLogger('info');
      const queue = make(logs.logger)!;
      let attempts = 0;
      await queue.work({
        report: async (_data, ctx) => {
          attempts++;
          ctx!.log.info('reporting');
          if (attempts === 1) throw new Error('first attempt fails');
        },
      });
      await queue.enqueue('report', {}, { jobId: 'report:7', attempts: 2 });
      await new Promise((r) => setTimeout(r, 50));
      await queue.drain();
      if (queue instanceof BullmqQueue) await queue.obliterate();
      await queue.close();
      const lines = logs.lines().map(({ job, jobId, attempt, msg, willRetry }) => ({ job, jobId, attempt, msg, willRetry }));
      const jobId = queue instanceof BullmqQueue ? 'report.7' : 'report:7';
      expect(lines).to.deep.equal([
        { job: 'report', jobId, attempt: 1, msg: 'reporting', willRetry: undefined },
        { job: 'report', jobId, attempt: 1, msg: 'job failed', willRetry: true },
        { job: 'report', jobId, attempt: 2, msg: 'reporting', willRetry: undefined },
      ]);
      expect((logs.lines()[1]!.err as { message: string }).message).to.equal('first attempt fails');
    });

    it('fails an attempt that outlives its deadline (its work never settles) and retries it; the stuck attempt holds up nothing', async () => {
      const logs = capturingLogger('info');
      const queue = make(logs.logger)!;
      let runs = 0;
      let aborted: unknown;
      const never = new Promise<never>(() => {});
      await queue.work({
        // First attempt: a query lost with its connection, as postgres.js can leave one (docs/operations.md).
        send: async (_data, ctx) => {
          runs++;
          if (runs > 1) return 'sent';
          ctx!.signal!.addEventListener('abort', () => (aborted = ctx!.signal!.reason));
          return never;
        },
      }, { timeoutMs: 300 });
      const started = Date.now();
      await queue.enqueue('send', {}, { jobId: 'send:1', attempts: 3 });
      await new Promise((r) => setTimeout(r, 100));
      expect(queue.running().map((j) => ({ name: j.name, attempt: j.attempt }))).to.deep.equal([{ name: 'send', attempt: 1 }]);
      await within(queue.drain(), 5000, 'the stuck job is still running: its attempt has no deadline');
      expect(runs, 'the retry ran').to.equal(2);
      expect(Date.now() - started).to.be.at.least(300);
      expect(queue.running()).to.deep.equal([]);
      expect(aborted, "the stuck attempt's signal was aborted").to.be.instanceOf(JobTimeoutError);
      const jobId = queue instanceof BullmqQueue ? 'send.1' : 'send:1';
      const failed = logs.lines().filter((l) => l.msg === 'job failed');
      expect(failed.map(({ job, jobId, attempt, willRetry }) => ({ job, jobId, attempt, willRetry }))).to.deep.equal([{ job: 'send', jobId, attempt: 1, willRetry: true }]);
      expect((failed[0]!.err as { type: string; message: string }).message).to.equal(`job send (id ${jobId}, attempt 1) did not finish within 300 ms: attempt failed, its work abandoned`);
      // A stuck attempt no longer blocks close(): it waits for running jobs, and this one has ended.
      await queue.enqueue('send', {}, { jobId: 'send:2', attempts: 1 });
      runs = 0;
      await new Promise((r) => setTimeout(r, 100));
      if (queue instanceof BullmqQueue) await queue.obliterate();
      await within(queue.close(), 3000, 'close() waits for a stuck job forever');
    });

    it("a job's own timeoutMs replaces the worker's default deadline", async () => {
      const logs = capturingLogger('info');
      const queue = make(logs.logger)!;
      const finished: string[] = [];
      const work = (name: string) => async () => {
        await new Promise((r) => setTimeout(r, 500));
        finished.push(name);
      };
      await queue.work({ long: Object.assign(work('long'), { timeoutMs: 5000 }), short: work('short') }, { timeoutMs: 200 });
      await queue.enqueue('long', {}, { attempts: 1 });
      await queue.enqueue('short', {}, { attempts: 1 });
      await new Promise((r) => setTimeout(r, 50));
      await queue.drain();
      await new Promise((r) => setTimeout(r, 500)); // the abandoned attempt of "short" ends on its own
      if (queue instanceof BullmqQueue) await queue.obliterate();
      await queue.close();
      expect(finished.sort()).to.deep.equal(['long', 'short']);
      const lines = logs.lines().map(({ job, msg }) => ({ job, msg }));
      expect(lines).to.deep.equal([
        { job: 'short', msg: 'job failed' },
        { job: 'short', msg: 'job attempt finished after its deadline (it was failed and retried)' },
      ]);
    });
  });
}

describe('job layer', () => {
  queueContract('in-process', (log = logger) => new InlineQueue(log, 10), () => true);
  queueContract('BullMQ', (log = logger) => (REDIS_URL ? new BullmqQueue(REDIS_URL, log, `kontor-test-${newId('q')}`, 10) : undefined), () => Boolean(REDIS_URL));

  describe('email outbox', () => {
    let deps: TestDeps;
    before(async () => {
      await resetData();
      deps = await makeTestDeps();
    });
    after(() => deps.close());

    it('sends a queued email over real SMTP once, even when the send job runs twice', async () => {
      deps.smtp.clear();
      const at = deps.clock.now();
      const id = await deps.db.transaction((tx) =>
        queueEmail(tx, { idempotencyKey: 'test:once', at, message: { to: ['someone@example.test'], cc: ['cc@example.test'], subject: 'Hello once', text: 'Body' } }),
      );
      // The same idempotency key queues nothing more.
      const again = await deps.db.transaction((tx) => queueEmail(tx, { idempotencyKey: 'test:once', at, message: { to: ['x@example.test'], subject: 'dup', text: 'dup' } }));
      expect(again).to.equal(null);
      await dispatchEmails(deps.queue, [id]);
      await deps.queue.drain();
      // A rerun (a second worker, or a job retried after a crash) finds it sent and skips it.
      expect(await sendQueuedEmail({ db: deps.db, mailer: deps.mailer, now: () => at }, id!)).to.equal('skipped');
      const mails = await deps.smtp.waitFor(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(mails.filter((m) => m.subject === 'Hello once')).to.have.length(1);
      expect(mails[0]!.to).to.have.members(['someone@example.test', 'cc@example.test']);
      const [row] = await deps.db.select().from(outboxEmails).where(eq(outboxEmails.id, id!));
      expect(row).to.include({ status: 'sent', attempts: 1 });
    });

    it('the tick re-dispatches an email whose job was lost', async () => {
      deps.smtp.clear();
      const at = new Date(deps.clock.now().getTime() - 5 * 60_000);
      const id = await deps.db.transaction((tx) => queueEmail(tx, { idempotencyKey: 'test:lost', at, message: { to: ['lost@example.test'], subject: 'Lost job', text: 'x' } }));
      const result = await createProcessors(deps).tick!({});
      expect(result).to.deep.equal({ emailsRequeued: 1, purchasesRetried: 0, invoicesRedelivered: 0 });
      await deps.queue.drain();
      const mails = await deps.smtp.waitFor(1);
      expect(mails.map((m) => m.subject)).to.deep.equal(['Lost job']);
      const [row] = await deps.db.select().from(outboxEmails).where(eq(outboxEmails.id, id!));
      expect(row!.status).to.equal('sent');
    });

    it('an email whose send job used up its retries during a mail outage is delivered by the tick once the outage is over', async () => {
      const fast = await makeTestDeps({ retryDelayMs: 10 });
      try {
        fast.smtp.clear();
        const working = fast.mailer;
        let attempts = 0;
        fast.mailer = { ...working, send: async () => { attempts++; throw new Error('connect ECONNREFUSED (mail outage)'); } };
        const at = fast.clock.now();
        const id = await fast.db.transaction((tx) => queueEmail(tx, { idempotencyKey: 'test:outage', at, message: { to: ['outage@example.test'], subject: 'After the outage', text: 'x' } }));
        await dispatchEmails(fast.queue, [id]);
        await new Promise((r) => setTimeout(r, 50));
        await fast.queue.drain();
        expect(attempts).to.equal(5); // every retry used up
        const [pending] = await fast.db.select().from(outboxEmails).where(eq(outboxEmails.id, id!));
        expect(pending!.status).to.equal('pending');

        fast.mailer = working; // the outage is over
        fast.testClock.advance(2 * 60_000);
        const result = await createProcessors(fast).tick!({});
        expect(result).to.include({ emailsRequeued: 1 });
        await new Promise((r) => setTimeout(r, 50));
        await fast.queue.drain();
        const mails = await fast.smtp.waitFor(1);
        expect(mails.map((m) => m.subject)).to.deep.equal(['After the outage']);
        const [row] = await fast.db.select().from(outboxEmails).where(eq(outboxEmails.id, id!));
        expect(row!.status).to.equal('sent');
      } finally {
        await fast.close();
      }
    });

    it('a send that finds the email held by another attempt still sending it fails, to be retried, instead of completing', async function () {
      requireOrSkip(this, Boolean(DATABASE_URL), 'Postgres (DATABASE_URL): two sessions at once (PGlite has one)');
      const at = deps.clock.now();
      const id = await deps.db.transaction((tx) => queueEmail(tx, { idempotencyKey: 'test:held', at, message: { to: ['held@example.test'], subject: 'Held', text: 'x' } }));
      const send = () => sendQueuedEmail({ db: deps.db, mailer: deps.mailer, now: () => at }, id!);
      // An earlier attempt, abandoned at its deadline, still holds the row and then fails.
      let release: () => void = () => {};
      let holding: () => void = () => {};
      const held = new Promise<void>((r) => (holding = r));
      const earlier = deps.db.transaction(async (tx) => {
        await tx.select().from(outboxEmails).where(eq(outboxEmails.id, id!)).for('update');
        holding();
        await new Promise<void>((r) => (release = r));
        throw new Error('SMTP timed out');
      }).catch(() => 'failed');
      await held;
      let err: unknown;
      await send().catch((e: unknown) => (err = e));
      expect(String(err)).to.contain('is being sent by another attempt');
      release();
      expect(await earlier).to.equal('failed');
      expect(await send(), 'the retry sends it').to.equal('sent');
      expect(await send(), 'and a later run skips it').to.equal('skipped');
    });

    it('keeps an email pending when the SMTP server is unreachable, for a later retry', async () => {
      const at = deps.clock.now();
      const id = await deps.db.transaction((tx) => queueEmail(tx, { idempotencyKey: 'test:down', at, message: { to: ['down@example.test'], subject: 'Down', text: 'x' } }));
      const { createMailer } = await import('../../src/mail/mailer');
      const broken = createMailer({ smtpUrl: 'smtp://127.0.0.1:1', from: 'x@example.test', mailDir: 'unused' });
      let failed = false;
      await sendQueuedEmail({ db: deps.db, mailer: broken, now: () => at }, id!).catch(() => (failed = true));
      expect(failed).to.equal(true);
      const [row] = await deps.db.select().from(outboxEmails).where(eq(outboxEmails.id, id!));
      expect(row!.status).to.equal('pending');
    });
  });
});

describe('job definitions', () => {
  it('every job has one definition with a unique name; a payload is checked when queued and when run', async () => {
    const { jobs, createProcessors } = await import('../../jobs/processors');
    const { enqueueJob } = await import('../../src/queue/job');
    const { sendMailJob } = await import('../../src/mail/outbox');
    const names = jobs.map((j) => j.name);
    expect(new Set(names).size).to.equal(names.length);
    const queued: string[] = [];
    const fake = { enqueue: async (name: string) => void queued.push(name) } as unknown as Queue;
    let refused: unknown;
    await enqueueJob(fake, sendMailJob, { id: '' } as { id: string }).catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(Error);
    expect(queued).to.deep.equal([]);
    await enqueueJob(fake, sendMailJob, { id: 'eml_1' });
    expect(queued).to.deep.equal(['mail.send']);
    const processors = createProcessors({} as never);
    expect(Object.keys(processors).sort()).to.deep.equal([...names].sort());
    let failed: unknown;
    await Promise.resolve(processors['invoice.deliver']!({ invoiceId: 42 })).catch((err: unknown) => (failed = err));
    expect(String(failed)).to.contain('job invoice.deliver: payload does not match its schema: invoiceId');
  });
});
