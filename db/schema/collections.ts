import { sql } from 'drizzle-orm';
import { date, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz, updatedAt } from './common';

// Collections (dunning, DESIGN section 10): each seller's reminder and card-retry schedules, the
// reminders sent and the saved-card attempts made. Both logs are keyed by invoice and step, so a
// job run twice (or resumed after a crash) finds the step done and does it nothing twice.

/**
 * A seller's schedules (the platform: seller_key 'platform'; an agency: its id). No row: the
 * defaults (src/collections/collection-settings.ts). Days are calendar days in the seller's zone.
 */
export const collectionSettings = pgTable('collection_settings', {
  sellerKey: text('seller_key').primaryKey(),
  sellerAgencyId: text('seller_agency_id'),
  /** Reminder days relative to the due day: -3 three days before, 0 on it, 7 a week after. Sorted. */
  reminderDays: integer('reminder_days').array().notNull(),
  /** Saved-card retries, in days after the due day (1 or more). Sorted. */
  retryDays: integer('retry_days').array().notNull(),
  updatedAt: updatedAt(),
});

/** One row per reminder sent: (invoice, offset) once, written in the transaction that queues the email. */
export const invoiceReminders = pgTable(
  'invoice_reminders',
  {
    id: text('id').primaryKey(),
    invoiceId: text('invoice_id').notNull(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id'),
    sellerAgencyId: text('seller_agency_id'),
    /** The schedule's step: days relative to the due day. */
    offsetDays: integer('offset_days').notNull(),
    /** The seller's calendar day it went out. */
    day: date('day', { mode: 'string' }).notNull(),
    /** The queued email (null when nobody was left to mail). */
    emailId: text('email_id'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('invoice_reminders_step_key').on(t.invoiceId, t.offsetDays),
    index('invoice_reminders_agency_idx').on(t.agencyId, t.createdAt),
  ],
);

export const chargeAttemptStatuses = ['pending', 'succeeded', 'declined', 'skipped'] as const;
export type ChargeAttemptStatus = (typeof chargeAttemptStatuses)[number];

/**
 * Every scheduled retry of a buyer's saved card for an overdue invoice: attempt n of the seller's
 * retry schedule, once per (invoice, attempt). `pending` while the gateway has not answered (the
 * next run asks again with the same idempotency key, so the card is never charged twice).
 */
export const invoiceChargeAttempts = pgTable(
  'invoice_charge_attempts',
  {
    id: text('id').primaryKey(),
    invoiceId: text('invoice_id').notNull(),
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id'),
    sellerAgencyId: text('seller_agency_id'),
    attemptNo: integer('attempt_no').notNull(),
    /** The schedule's step it ran for (days after the due day). */
    daysAfterDue: integer('days_after_due').notNull(),
    /** The seller's calendar day it ran. */
    day: date('day', { mode: 'string' }).notNull(),
    status: text('status', { enum: chargeAttemptStatuses }).notNull(),
    paymentId: text('payment_id'),
    paymentMethodId: text('payment_method_id'),
    /** Shown to people as "Visa ending 4242". */
    cardLabel: text('card_label'),
    gatewayReference: text('gateway_reference'),
    /** Why it did not succeed: the gateway's message, or a message key (no saved card). */
    error: text('error'),
    createdAt: createdAt(),
    completedAt: tstz('completed_at'),
  },
  (t) => [
    uniqueIndex('invoice_charge_attempts_step_key').on(t.invoiceId, t.attemptNo),
    index('invoice_charge_attempts_pending_idx').on(t.createdAt).where(sql`${t.status} = 'pending'`),
  ],
);
