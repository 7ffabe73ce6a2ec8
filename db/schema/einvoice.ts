import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz, updatedAt } from './common';

/**
 * Turkish e-invoicing (DESIGN section 10): which e-invoice integrator a seller sends through, and
 * the sending state of each issued document. Kept beside the invoices instead of in columns on
 * them: issued invoices and credit notes are immutable (their rows never change), while a
 * document's sending state moves on for days (queued, sent, accepted or rejected, sent again).
 */

export const einvoiceIntegratorKinds = ['sandbox', 'nilvera'] as const;
export type EInvoiceIntegratorKind = (typeof einvoiceIntegratorKinds)[number];
export const einvoiceModes = ['test', 'production'] as const;
export type EInvoiceMode = (typeof einvoiceModes)[number];

/**
 * A seller's e-invoice integrator, like its payment system (gateway_accounts): one per seller (the
 * platform, seller_key 'platform', or an agency, seller_key = its id), public settings (the GİB
 * series) and secrets sealed with the seller key as associated data (src/payments/secret-box.ts).
 */
export const einvoiceAccounts = pgTable('einvoice_accounts', {
  id: text('id').primaryKey(),
  sellerKey: text('seller_key').notNull().unique(),
  sellerAgencyId: text('seller_agency_id'),
  kind: text('kind', { enum: einvoiceIntegratorKinds }).notNull(),
  mode: text('mode', { enum: einvoiceModes }).notNull().default('test'),
  settings: jsonb('settings').$type<Record<string, string>>().notNull(),
  secrets: text('secrets').notNull(),
  secretHints: jsonb('secret_hints').$type<Record<string, string>>().notNull(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const einvoiceDocumentKinds = ['invoice', 'credit_note'] as const;
export type EInvoiceDocumentKind = (typeof einvoiceDocumentKinds)[number];

/**
 * queued: waiting for its job; sending: an attempt is in flight (a crash leaves it so, and the
 * tick sends it again under the same ETTN, which the integrator deduplicates); retrying: the
 * integrator could not be reached, the job retries with back-off; pending: the integrator took
 * it and GİB has not answered yet (polled); accepted; rejected (the reason is kept; the seller
 * may send it again); not_sendable: the document lacks what GİB needs (the reason says what).
 */
export const einvoiceStatuses = ['queued', 'sending', 'retrying', 'pending', 'accepted', 'rejected', 'not_sendable'] as const;
export type EInvoiceStatus = (typeof einvoiceStatuses)[number];

/** One issued document's way to GİB: its ETTN and GİB number (fixed once given), profile and state. */
export const einvoiceDocuments = pgTable(
  'einvoice_documents',
  {
    id: text('id').primaryKey(),
    documentKind: text('document_kind', { enum: einvoiceDocumentKinds }).notNull(),
    documentId: text('document_id').notNull(),
    /** The buyer's tenant (the invoice's agency_id), for scoping. */
    agencyId: text('agency_id').notNull(),
    sellerKey: text('seller_key').notNull(),
    sellerAgencyId: text('seller_agency_id'),
    status: text('status', { enum: einvoiceStatuses }).notNull().default('queued'),
    /** ETTN: generated once, when the document is first mapped, and never changed. */
    uuid: text('uuid').unique(),
    /** GİB number: series + year + 9 digits, derived from the seller's number, fixed once given. */
    number: text('number'),
    profile: text('profile', { enum: ['TEMELFATURA', 'TICARIFATURA', 'EARSIVFATURA'] }),
    integrator: text('integrator', { enum: einvoiceIntegratorKinds }),
    /** Why it was rejected or cannot be sent, or the last transport failure: a message (src/lib/message.ts). */
    error: text('error'),
    /** Send attempts that reached the integrator or failed on the way (not polls). */
    attempts: integer('attempts').notNull().default(0),
    /** What the integrator answered last, for support. */
    lastAnswer: jsonb('last_answer'),
    sentAt: tstz('sent_at'),
    acceptedAt: tstz('accepted_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('einvoice_documents_document_key').on(t.documentKind, t.documentId),
    // A GİB number names one document of a seller (invoices and credit notes have their own series).
    uniqueIndex('einvoice_documents_number_key').on(t.sellerKey, t.number).where(sql`${t.number} is not null`),
    index('einvoice_documents_open_idx').on(t.status, t.updatedAt).where(sql`${t.status} in ('queued', 'sending', 'retrying', 'pending')`),
  ],
);
