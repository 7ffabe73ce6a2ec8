import { sql } from 'drizzle-orm';
import { bigint, check, date, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { currencies } from './catalog';
import { createdAt, tstz, updatedAt } from './common';
import type { BuyerParty, SellerParty } from './parties';

// Credit notes (DESIGN section 10, docs/credit-notes.md): the only way an issued invoice is
// corrected or refunded. A credit note names the invoice it credits and, line by line, the
// invoice lines it reverses; amounts are positive and mean "taken off". Numbers are gapless per
// seller in their own series (credit_note_counters). Immutable once written: a trigger
// (migration 0024, hand-written part) refuses edits, deletes, and lines added to an issued note,
// and caps what is credited on each invoice line at that line's amount and tax.

/** A credit note: a seller's document reversing all or part of one of its invoices. */
export const creditNotes = pgTable(
  'credit_notes',
  {
    id: text('id').primaryKey(),
    /** The buyer's tenant (as on the invoice): every query is scoped by it or by the seller. */
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    buyerId: text('buyer_id').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    /** The counter the number comes from: the seller agency's id, or 'platform'. */
    sellerKey: text('seller_key').notNull(),
    number: integer('number').notNull(),
    invoiceId: text('invoice_id').notNull(),
    issueDay: date('issue_day', { mode: 'string' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    /** What is taken off the invoice: the lines' net plus their tax (net = total - tax). */
    totalMinor: bigint('total_minor', { mode: 'number' }).notNull(),
    taxMinor: bigint('tax_minor', { mode: 'number' }).notNull().default(0),
    reason: text('reason').notNull(),
    /** The parties and the address as printed on the credited invoice. */
    sellerParty: jsonb('seller_party').$type<SellerParty>(),
    buyerParty: jsonb('buyer_party').$type<BuyerParty>(),
    billingAddress: jsonb('billing_address'),
    /** Who issued it: the user or API key id, or 'system' (a term refund, a payment refund). */
    issuedBy: text('issued_by'),
    deliveredAt: tstz('delivered_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('credit_notes_number_key').on(t.sellerKey, t.number),
    index('credit_notes_invoice_idx').on(t.invoiceId),
    index('credit_notes_seller_list_idx').on(t.sellerKey, t.issueDay, t.number),
    index('credit_notes_account_idx').on(t.buyerId, t.issueDay),
    index('credit_notes_undelivered_idx').on(t.createdAt).where(sql`${t.deliveredAt} is null`),
    check('credit_notes_amounts', sql`${t.totalMinor} > 0 and ${t.taxMinor} >= 0 and ${t.taxMinor} <= ${t.totalMinor}`),
    check('credit_notes_reason', sql`length(btrim(${t.reason})) > 0`),
  ],
);

/**
 * One reversed invoice line: its net amount and tax taken off (positive numbers). Written
 * before its credit note row, in the same transaction: once the note exists no line is added.
 */
export const creditNoteLines = pgTable(
  'credit_note_lines',
  {
    id: text('id').primaryKey(),
    creditNoteId: text('credit_note_id').notNull(),
    agencyId: text('agency_id').notNull(),
    position: integer('position').notNull(),
    invoiceLineId: text('invoice_line_id').notNull(),
    description: text('description').notNull(),
    /** The credited line's description_key, copied with its description (docs/i18n.md). */
    descriptionKey: text('description_key'),
    quantity: integer('quantity').notNull().default(1),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    taxRateBp: integer('tax_rate_bp').notNull().default(0),
    taxMinor: bigint('tax_minor', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    index('credit_note_lines_note_idx').on(t.creditNoteId, t.position),
    index('credit_note_lines_invoice_line_idx').on(t.invoiceLineId),
    check('credit_note_lines_amounts', sql`${t.amountMinor} >= 0 and ${t.taxMinor} >= 0 and ${t.amountMinor} + ${t.taxMinor} > 0 and ${t.quantity} >= 1`),
    check('credit_note_lines_tax', sql`${t.taxRateBp} between 0 and 10000`),
  ],
);

/** Per-seller credit note numbering, apart from invoices: the row is locked while a note is issued. */
export const creditNoteCounters = pgTable('credit_note_counters', {
  sellerKey: text('seller_key').primaryKey(),
  nextNumber: integer('next_number').notNull().default(1),
  updatedAt: updatedAt(),
});
