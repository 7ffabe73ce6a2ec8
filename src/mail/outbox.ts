import { and, eq, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { defineJob, enqueueJob } from '../queue/job';
import type { Db, DbOrTx } from '../../db/client';
import { outboxEmails } from '../../db/schema';
import { newId } from '../lib/ids';
import type { Queue } from '../queue';
import { clientMailSender } from '../branding/brand';
import type { MailMessage, Mailer } from './mailer';

export const SEND_MAIL_JOB = 'mail.send';

/** Sends one queued email (claims it, sends, marks it sent). */
export const sendMailJob = defineJob({
  name: SEND_MAIL_JOB,
  payload: z.object({ id: z.string().min(1) }),
  handle: (deps, { id }) => sendQueuedEmail({ db: deps.db, mailer: deps.mailer, now: () => deps.clock.now() }, id),
});

/**
 * Queues an email inside the caller's transaction; returns its id, or null if the key was used.
 * `subAccountId`: the mail goes to that client of `agencyId` (its people or its billing address),
 * so it is signed by the agency (white label, DESIGN section 11): the agency's sender name on the
 * platform's address, and its reply-to. Mail to agencies and platform staff is signed by Kontor.
 */
export async function queueEmail(
  db: DbOrTx,
  input: { idempotencyKey: string; agencyId?: string | null; subAccountId?: string | null; message: MailMessage; at: Date },
): Promise<string | null> {
  const id = newId('eml');
  const sender = input.subAccountId && input.agencyId ? await clientMailSender(db, input.agencyId) : null;
  const fromName = input.message.fromName ?? sender?.fromName ?? null;
  const replyTo = input.message.replyTo ?? sender?.replyTo ?? null;
  const rows = await db
    .insert(outboxEmails)
    .values({
      id,
      idempotencyKey: input.idempotencyKey,
      agencyId: input.agencyId ?? null,
      to: input.message.to,
      cc: input.message.cc ?? [],
      subject: input.message.subject,
      text: input.message.text,
      html: input.message.html ?? null,
      fromName,
      replyTo,
      attachments: input.message.attachments ?? [],
      createdAt: input.at,
    })
    .onConflictDoNothing()
    .returning({ id: outboxEmails.id });
  return rows[0]?.id ?? null;
}

/** After commit: hand the queued emails to the job layer. */
export async function dispatchEmails(queue: Queue, ids: (string | null)[]): Promise<void> {
  for (const id of ids) if (id) await enqueueJob(queue, sendMailJob, { id }, { jobId: `mail:${id}` });
}

/**
 * The mail.send job. Claims the row, sends, marks it sent. A crash between sending and marking
 * can resend one message: SMTP offers no better than at-least-once. An email already sent is
 * skipped; one that another attempt holds (a run whose deadline passed but whose send is still
 * going on) fails this attempt, to be retried: completing it would leave the email pending with
 * its job done if the other attempt then fails, and BullMQ ignores a re-dispatch of a completed
 * job for a day.
 */
export async function sendQueuedEmail(deps: { db: Db; mailer: Mailer; now: () => Date }, id: string): Promise<'sent' | 'skipped'> {
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(outboxEmails)
      .where(and(eq(outboxEmails.id, id), eq(outboxEmails.status, 'pending')))
      .for('update', { skipLocked: true });
    if (!row) {
      const [other] = await tx.select({ status: outboxEmails.status }).from(outboxEmails).where(eq(outboxEmails.id, id));
      if (other?.status === 'pending') throw new Error(`email ${id} is being sent by another attempt (its row is locked): this attempt fails and is retried`);
      return 'skipped';
    }
    // A send error propagates: the transaction rolls back, the row stays pending and the job
    // layer retries with back-off.
    await deps.mailer.send({
      id: row.id,
      to: row.to,
      cc: row.cc,
      subject: row.subject,
      text: row.text,
      ...(row.html ? { html: row.html } : {}),
      ...(row.fromName ? { fromName: row.fromName } : {}),
      ...(row.replyTo ? { replyTo: row.replyTo } : {}),
      attachments: row.attachments as MailMessage['attachments'],
    });
    await tx.update(outboxEmails).set({ status: 'sent', sentAt: deps.now(), attempts: sql`${outboxEmails.attempts} + 1` }).where(eq(outboxEmails.id, id));
    return 'sent';
  });
}

/** Pending emails older than a minute whose job was lost (e.g. a crash before enqueue). */
export async function pendingEmailIds(db: DbOrTx, olderThan: Date): Promise<string[]> {
  const rows = await db
    .select({ id: outboxEmails.id })
    .from(outboxEmails)
    .where(and(eq(outboxEmails.status, 'pending'), lt(outboxEmails.createdAt, olderThan)))
    .limit(500);
  return rows.map((r) => r.id);
}
