import type { Config } from '../../config';
import { createProcessors } from '../../jobs/processors';
import { refundHandlers, settlementHandlers } from '../../src/composition';
import type { Deps } from '../../src/deps';
import { TestClock } from '../../src/lib/clock';
import { newId } from '../../src/lib/ids';
import { createLogger } from '../../src/lib/logger';
import { createMailer } from '../../src/mail/mailer';
import { BullmqQueue, InlineQueue, type Queue } from '../../src/queue';
import { testDatabase } from './db';
import { REDIS_URL, testConfig } from './env';
import { smtpCapture, type SmtpCapture } from './smtp';

export interface TestDeps extends Deps {
  testClock: TestClock;
  smtp: SmtpCapture;
  close(): Promise<void>;
}

/**
 * Real parts: the run's database, a real SMTP server, BullMQ on Redis when REDIS_URL is set
 * (a fresh key prefix per suite) and the in-process runner otherwise. Jobs are consumed by the
 * real processors in this process.
 */
export async function makeTestDeps(opts: { config?: Partial<Record<string, string>>; start?: Date; queue?: 'env' | 'inline'; retryDelayMs?: number } = {}): Promise<TestDeps> {
  const { db, raw, listen } = await testDatabase();
  const smtp = await smtpCapture();
  smtp.clear();
  const config: Config = testConfig({ SMTP_URL: smtp.url, ...(opts.config as Record<string, string>) });
  const logger = createLogger('silent');
  const testClock = new TestClock(opts.start ?? new Date('2026-03-10T09:00:00Z'));
  const queue: Queue = REDIS_URL && opts.queue !== 'inline'
    ? new BullmqQueue(REDIS_URL, logger, `kontor-test-${newId('q')}`, opts.retryDelayMs)
    : new InlineQueue(logger, opts.retryDelayMs);
  const mailer = createMailer({ smtpUrl: smtp.url, from: config.mailFrom, mailDir: 'unused' });
  const deps: TestDeps = {
    config, db, rawSql: raw, listen, clock: testClock, testClock, queue, mailer, logger, smtp, settlement: settlementHandlers, refundHandlers,
    async close() {
      await queue.drain();
      if (queue instanceof BullmqQueue) await queue.obliterate();
      await queue.close();
      mailer.close();
    },
  };
  await queue.work(createProcessors(deps));
  return deps;
}
