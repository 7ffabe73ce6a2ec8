// Every background job, by name. The same processors run on BullMQ workers and in-process.
import type { Deps } from '../src/deps';
import { dispatchEmails, pendingEmailIds, SEND_MAIL_JOB, sendQueuedEmail } from '../src/mail/outbox';
import type { Processors } from '../src/queue';
import { pruneExpiredSessions } from '../src/web/session-store';

export const TICK_JOB = 'tick';
export const TICK_EVERY_MS = 60_000;

export function createProcessors(deps: Deps): Processors {
  return {
    [SEND_MAIL_JOB]: async (data) => sendQueuedEmail({ db: deps.db, mailer: deps.mailer, now: () => deps.clock.now() }, String(data.id)),

    // The scheduler's heartbeat: finds whatever is due by the clock and enqueues it. Work is
    // found from the database, not from when the tick fired, so a missed or repeated tick is harmless.
    [TICK_JOB]: async () => {
      const stale = await pendingEmailIds(deps.db, new Date(deps.clock.now().getTime() - 60_000));
      await dispatchEmails(deps.queue, stale);
      await pruneExpiredSessions(deps.db);
      return { emailsRequeued: stale.length };
    },
  };
}

export const jobNames = () => [SEND_MAIL_JOB, TICK_JOB];
