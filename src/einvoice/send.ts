// Sending issued documents to the seller's e-invoice integrator, as jobs. One row per document
// (einvoice_documents) carries its ETTN, GİB number, profile and state. Idempotent: the ETTN is
// the idempotency key, an accepted or pending document is never sent again, and an attempt cut
// short by a crash is sent again under the same ETTN (the integrator answers the first outcome).
// Transport failures retry with back-off (the queue's, then the tick's); a rejection is kept
// with its reason until the seller sends the document again. Rules: docs/einvoice.md.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, ne } from 'drizzle-orm';
import { z } from 'zod';
import { billingAddresses, creditNoteLines, creditNotes, einvoiceAccounts, einvoiceDocumentKinds, einvoiceDocuments, invoiceLines, invoices, type BuyerParty, type EInvoiceDocumentKind, type EInvoiceStatus } from '../../db/schema';
import type { Db } from '../../db/client';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { msg } from '../lib/message';
import { defineJob, enqueueJob } from '../queue/job';
import { sellerKeyOf } from '../payments/gateway-accounts';
import { einvoiceViewOf, getEInvoiceAccount, integratorOf } from './accounts';
import { IntegratorAuthError, IntegratorTransportError, type IntegratorAnswer } from './integrator';
import { mapInvoice, type MappingResult } from './mapping';
import { EInvoiceModelError, renderUblTr, type Profile } from './ubl-tr';

export interface DocumentRef {
  kind: EInvoiceDocumentKind;
  id: string;
}

export type EInvoiceDocumentRow = typeof einvoiceDocuments.$inferSelect;

/** An issued document as the sender needs it: whose it is, and how it maps with a series and an ETTN. */
export interface LoadedDocument {
  agencyId: string;
  sellerAgencyId: string | null;
  sellerKey: string;
  buyerTaxId: string | null;
  /** e-Fatura: the buyer's GİB mailbox (urn:mail:...), when known (recipientAliasOf). */
  recipientAlias: string | null;
  map(opts: { series: string; uuid: string; commercial: boolean }): MappingResult;
}

/** How each kind of document is read. Credit notes register theirs (registerDocumentSource). */
export type DocumentSource = (db: Db, id: string) => Promise<LoadedDocument | null>;

/**
 * Where an e-Fatura to a registered company is delivered: its GİB mailbox. The mailbox routes the
 * document and is not part of it (the XML does not carry it), so the buyer's current one is used:
 * the account's billing address with the same VKN that has one (its default first), else the one
 * the invoice snapshotted. A buyer who adds or changes its mailbox after a rejection is reached
 * by "Send again".
 */
export async function recipientAliasOf(db: Db, p: { agencyId: string; buyerId: string; buyer: BuyerParty | null }): Promise<string | null> {
  if (p.buyer?.kind !== 'company' || !p.buyer.eInvoiceRegistered) return null;
  const [live] = await db.select({ alias: billingAddresses.eInvoiceAlias }).from(billingAddresses)
    .where(and(eq(billingAddresses.agencyId, p.agencyId), eq(billingAddresses.buyerId, p.buyerId), eq(billingAddresses.taxKind, 'company'), eq(billingAddresses.taxNumber, p.buyer.vkn), eq(billingAddresses.eInvoiceRegistered, true), isNotNull(billingAddresses.eInvoiceAlias)))
    .orderBy(desc(billingAddresses.isDefault), desc(billingAddresses.updatedAt)).limit(1);
  return live?.alias ?? p.buyer.eInvoiceAlias ?? null;
}

const invoiceSource: DocumentSource = async (db, id) => {
  const [inv] = await db.select().from(invoices).where(eq(invoices.id, id));
  if (!inv || inv.status === 'void') return null;
  const lines = await db.select().from(invoiceLines).where(eq(invoiceLines.invoiceId, id)).orderBy(asc(invoiceLines.position));
  const b = inv.buyerParty;
  return {
    agencyId: inv.agencyId,
    sellerAgencyId: inv.sellerAgencyId,
    sellerKey: inv.sellerKey,
    buyerTaxId: b?.kind === 'company' ? b.vkn : b?.kind === 'person' ? b.tckn : null,
    recipientAlias: await recipientAliasOf(db, { agencyId: inv.agencyId, buyerId: inv.buyerId, buyer: b }),
    map: ({ series, uuid, commercial }) => mapInvoice(inv, lines, { kind: 'invoice', series, uuid, commercial }),
  };
};

/**
 * A credit note goes as an IADE invoice naming the invoice it reverses by that invoice's GİB
 * number: a credit note of an invoice never given one (issued before the seller chose an
 * integrator) cannot be sent, and says so.
 */
const creditNoteSource: DocumentSource = async (db, id) => {
  const [note] = await db.select().from(creditNotes).where(eq(creditNotes.id, id));
  if (!note) return null;
  const [inv] = await db.select().from(invoices).where(eq(invoices.id, note.invoiceId));
  if (!inv) return null;
  const lines = await db.select().from(creditNoteLines).where(eq(creditNoteLines.creditNoteId, id)).orderBy(asc(creditNoteLines.position));
  const [credited] = await db.select({ number: einvoiceDocuments.number }).from(einvoiceDocuments).where(and(eq(einvoiceDocuments.documentKind, 'invoice'), eq(einvoiceDocuments.documentId, inv.id)));
  const b = note.buyerParty;
  return {
    agencyId: note.agencyId,
    sellerAgencyId: note.sellerAgencyId,
    sellerKey: note.sellerKey,
    buyerTaxId: b?.kind === 'company' ? b.vkn : b?.kind === 'person' ? b.tckn : null,
    recipientAlias: await recipientAliasOf(db, { agencyId: note.agencyId, buyerId: note.buyerId, buyer: b }),
    map: ({ series, uuid, commercial }) => {
      if (!credited?.number) return { ok: false, reason: msg('einvoice:reason.invoiceNotSent') };
      const issued = { number: note.number, issueDay: note.issueDay, createdAt: note.createdAt, currency: note.currency, totalMinor: note.totalMinor, taxMinor: note.taxMinor, priceMode: inv.priceMode, sellerParty: note.sellerParty, buyerParty: note.buyerParty };
      return mapInvoice(issued, lines, { kind: 'creditNote', series, uuid, commercial, creditedInvoice: { number: credited.number, issueDate: inv.issueDay } });
    },
  };
};

const sources: Partial<Record<EInvoiceDocumentKind, DocumentSource>> = { invoice: invoiceSource, credit_note: creditNoteSource };

/** Plugs a kind of document into sending (credit notes: their rows, lines and the reversed invoice). */
export function registerDocumentSource(kind: EInvoiceDocumentKind, source: DocumentSource): void {
  sources[kind] = source;
}

const refPayload = z.object({ kind: z.enum(einvoiceDocumentKinds), id: z.string().min(1) });

/** An attempt older than this with no outcome was cut short (a crash): the tick sends it again. */
const STALE_MS = 5 * 60_000;
/**
 * How long a pending document waits before the integrator is asked again: a quarter of its age,
 * between 5 minutes and 6 hours (an e-Fatura is usually answered within minutes; an e-Arşiv
 * may wait for the next day's report to GİB).
 */
export function pollIntervalMs(sentAt: Date | null, now: Date): number {
  const age = sentAt ? now.getTime() - sentAt.getTime() : 0;
  return Math.min(6 * 3_600_000, Math.max(STALE_MS, Math.floor(age / 4)));
}

async function rowOf(db: Db, ref: DocumentRef): Promise<EInvoiceDocumentRow | undefined> {
  const [row] = await db.select().from(einvoiceDocuments).where(and(eq(einvoiceDocuments.documentKind, ref.kind), eq(einvoiceDocuments.documentId, ref.id)));
  return row;
}

/**
 * After a document is issued: when its seller has an integrator, records it as queued and
 * enqueues its sending. Nothing when the seller has none. Idempotent.
 */
export async function queueEInvoice(deps: Deps, ref: DocumentRef): Promise<EInvoiceStatus | 'no_integrator' | 'not_found'> {
  const source = sources[ref.kind];
  const doc = source ? await source(deps.db, ref.id) : null;
  if (!doc) return 'not_found';
  const account = await getEInvoiceAccount(deps, doc.sellerAgencyId);
  if (!account) return 'no_integrator';
  const now = deps.clock.now();
  await deps.db.insert(einvoiceDocuments).values({
    id: newId('eid'), documentKind: ref.kind, documentId: ref.id, agencyId: doc.agencyId, sellerKey: doc.sellerKey, sellerAgencyId: doc.sellerAgencyId, status: 'queued', createdAt: now, updatedAt: now,
  }).onConflictDoNothing();
  const row = (await rowOf(deps.db, ref))!;
  if (row.status === 'queued') await enqueueJob(deps.queue, sendEInvoiceJob, ref, { jobId: `einvoice-send:${ref.kind}:${ref.id}:${row.attempts}` });
  return row.status;
}

export type SendOutcome = EInvoiceStatus | 'no_integrator' | 'not_found' | 'in_flight';

/**
 * One attempt to send a document. Returns its state after the attempt; throws on a transport
 * failure so the queue retries with back-off (the row says 'retrying' and why).
 */
export async function sendEInvoice(deps: Deps, ref: DocumentRef): Promise<SendOutcome> {
  const now = deps.clock.now();
  const source = sources[ref.kind];
  const doc = source ? await source(deps.db, ref.id) : null;
  if (!doc) return 'not_found';
  const account = await getEInvoiceAccount(deps, doc.sellerAgencyId);
  if (!account) return 'no_integrator';
  const settings = einvoiceViewOf(account);

  // Claim the attempt: only one runs at a time; what is accepted, pending or settled is left alone.
  const claim = await deps.db.transaction(async (tx) => {
    await tx.insert(einvoiceDocuments).values({
      id: newId('eid'), documentKind: ref.kind, documentId: ref.id, agencyId: doc.agencyId, sellerKey: doc.sellerKey, sellerAgencyId: doc.sellerAgencyId, status: 'queued', createdAt: now, updatedAt: now,
    }).onConflictDoNothing();
    const [row] = await tx.select().from(einvoiceDocuments).where(and(eq(einvoiceDocuments.documentKind, ref.kind), eq(einvoiceDocuments.documentId, ref.id))).for('update');
    if (!row) return { skip: 'not_found' as const };
    if (row.status === 'accepted' || row.status === 'rejected' || row.status === 'not_sendable' || row.status === 'pending') return { skip: row.status };
    if (row.status === 'sending' && now.getTime() - row.updatedAt.getTime() < STALE_MS) return { skip: 'in_flight' as const };
    // The ETTN is made once; the number keeps the series it was first given.
    const uuid = row.uuid ?? randomUUID();
    const series = row.number?.slice(0, 3) ?? (ref.kind === 'credit_note' ? settings.creditNoteSeries : settings.invoiceSeries);
    const mapped = doc.map({ series, uuid, commercial: settings.commercial });
    let xml: string | undefined;
    let reason: string | undefined;
    if (!mapped.ok) reason = mapped.reason;
    else {
      try {
        xml = renderUblTr(mapped.document);
      } catch (err) {
        if (!(err instanceof EInvoiceModelError)) throw err;
        reason = msg('einvoice:reason.invalid', { code: err.code });
      }
    }
    if (!mapped.ok || !xml) {
      await tx.update(einvoiceDocuments).set({ status: 'not_sendable', error: reason ?? null, uuid: row.uuid, updatedAt: now }).where(eq(einvoiceDocuments.id, row.id));
      return { skip: 'not_sendable' as const };
    }
    const d = mapped.document;
    await tx.update(einvoiceDocuments)
      .set({ status: 'sending', uuid, number: d.number, profile: d.profile, integrator: account.kind, attempts: row.attempts + 1, updatedAt: now })
      .where(eq(einvoiceDocuments.id, row.id));
    return { rowId: row.id, xml, uuid, number: d.number, profile: d.profile };
  });
  if (claim.skip !== undefined || !claim.xml) return claim.skip ?? 'not_found';

  let answer: IntegratorAnswer;
  try {
    answer = await integratorOf(deps, account).send({ xml: claim.xml, ettn: claim.uuid, number: claim.number, profile: claim.profile, kind: ref.kind === 'credit_note' ? 'creditNote' : 'invoice', buyerTaxId: doc.buyerTaxId ?? '', ...(claim.profile !== 'EARSIVFATURA' && doc.recipientAlias ? { recipientAlias: doc.recipientAlias } : {}) }, claim.uuid);
  } catch (err) {
    if (!(err instanceof IntegratorTransportError || err instanceof IntegratorAuthError)) throw err;
    const error = err instanceof IntegratorAuthError ? msg('einvoice:reason.credentials') : msg('einvoice:reason.transport');
    await deps.db.update(einvoiceDocuments).set({ status: 'retrying', error, lastAnswer: { error: err.message }, updatedAt: deps.clock.now() }).where(eq(einvoiceDocuments.id, claim.rowId));
    throw err;
  }
  // A pending document is asked about by the tick (sweepEInvoices), less often as it ages.
  return recordAnswer(deps, claim.rowId, answer);
}

async function recordAnswer(deps: Deps, rowId: string, answer: IntegratorAnswer): Promise<EInvoiceStatus> {
  const at = deps.clock.now();
  const set = {
    status: answer.status as EInvoiceStatus,
    error: answer.status === 'rejected' ? (answer.reason ?? msg('einvoice:reason.rejectedNoReason')) : null,
    lastAnswer: (answer.raw ?? null) as unknown,
    updatedAt: at,
    ...(answer.status === 'accepted' ? { acceptedAt: at } : {}),
  };
  const [row] = await deps.db.update(einvoiceDocuments).set({ ...set, sentAt: at }).where(and(eq(einvoiceDocuments.id, rowId), eq(einvoiceDocuments.status, 'sending'))).returning({ id: einvoiceDocuments.id });
  if (!row) await deps.db.update(einvoiceDocuments).set(set).where(and(eq(einvoiceDocuments.id, rowId), eq(einvoiceDocuments.status, 'pending')));
  return answer.status;
}

/** Asks the integrator where a pending document stands, and records the answer. */
export async function pollEInvoice(deps: Deps, ref: DocumentRef): Promise<SendOutcome> {
  const row = await rowOf(deps.db, ref);
  if (!row) return 'not_found';
  if (row.status !== 'pending' || !row.uuid || !row.profile) return row.status;
  const source = sources[ref.kind];
  const doc = source ? await source(deps.db, ref.id) : null;
  const account = doc ? await getEInvoiceAccount(deps, doc.sellerAgencyId) : undefined;
  if (!account) return 'no_integrator';
  const answer = await integratorOf(deps, account).status(row.uuid, row.profile as Profile);
  if (answer.status === 'pending') {
    await deps.db.update(einvoiceDocuments).set({ updatedAt: deps.clock.now() }).where(eq(einvoiceDocuments.id, row.id));
    return 'pending';
  }
  return recordAnswer(deps, row.id, answer);
}

/**
 * The seller sends a rejected document again (after fixing what the integrator objected to, at
 * the integrator or in its settings). A rejected ETTN is never reused (integrators such as
 * Nilvera refuse an ETTN once it errored): the document gets a fresh ETTN under the same number.
 */
export async function resendEInvoice(deps: Deps, actor: Actor, sellerAgencyId: string | null, ref: DocumentRef): Promise<EInvoiceDocumentRow> {
  const row = await rowOf(deps.db, ref);
  if (!row || row.sellerKey !== sellerKeyOf(sellerAgencyId)) throw errors.notFound('invoice');
  if (row.status !== 'rejected' && row.status !== 'retrying') throw new AppError('einvoice_not_resendable', 409, msg('einvoice:error.notResendable'));
  const now = deps.clock.now();
  const [updated] = await deps.db.transaction(async (tx) => {
    const out = await tx.update(einvoiceDocuments)
      .set({ status: 'queued', uuid: row.status === 'rejected' ? null : row.uuid, error: null, updatedAt: now })
      .where(and(eq(einvoiceDocuments.id, row.id), inArray(einvoiceDocuments.status, ['rejected', 'retrying'])))
      .returning();
    await recordAudit(tx, actor, { action: 'einvoice.resent', targetType: ref.kind, targetId: ref.id, agencyId: sellerAgencyId, data: { previousUuid: row.uuid, previousStatus: row.status, previousError: row.error } }, now);
    return out;
  });
  if (!updated) throw new AppError('einvoice_not_resendable', 409, msg('einvoice:error.notResendable'));
  await enqueueJob(deps.queue, sendEInvoiceJob, ref, { jobId: `einvoice-send:${ref.kind}:${ref.id}:${updated.attempts}` });
  return updated;
}

/** A document's e-invoice state, for the invoice page and the API (null: not sent through an integrator). */
export async function einvoiceStateOf(db: Db, ref: DocumentRef): Promise<EInvoiceDocumentRow | null> {
  return (await rowOf(db, ref)) ?? null;
}

/**
 * Invoices issued since their seller chose an integrator that are not queued yet, whatever path
 * issued them (the monthly cut, a term purchase, a payment's invoice): the net under the direct
 * call after delivery. Invoices recorded in the last week only: the scan stays small, and older
 * ones were queued by their delivery (or were issued before the integrator was chosen).
 */
export async function unqueuedInvoiceIds(deps: Pick<Deps, 'db' | 'clock'>, limit = 200): Promise<string[]> {
  // A week back: the tick runs every minute, so this only bounds the scan of a seller's invoices.
  const since = new Date(deps.clock.now().getTime() - 7 * 86_400_000);
  const rows = await deps.db
    .select({ id: invoices.id })
    .from(invoices)
    .innerJoin(einvoiceAccounts, eq(einvoiceAccounts.sellerKey, invoices.sellerKey))
    .leftJoin(einvoiceDocuments, and(eq(einvoiceDocuments.documentKind, 'invoice'), eq(einvoiceDocuments.documentId, invoices.id)))
    .where(and(isNull(einvoiceDocuments.id), ne(invoices.status, 'void'), gte(invoices.createdAt, einvoiceAccounts.createdAt), gte(invoices.createdAt, since)))
    .orderBy(asc(invoices.createdAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Credit notes issued since their seller chose an integrator and not queued yet (as unqueuedInvoiceIds). */
export async function unqueuedCreditNoteIds(deps: Pick<Deps, 'db' | 'clock'>, limit = 200): Promise<string[]> {
  const since = new Date(deps.clock.now().getTime() - 7 * 86_400_000);
  const rows = await deps.db
    .select({ id: creditNotes.id })
    .from(creditNotes)
    .innerJoin(einvoiceAccounts, eq(einvoiceAccounts.sellerKey, creditNotes.sellerKey))
    .leftJoin(einvoiceDocuments, and(eq(einvoiceDocuments.documentKind, 'credit_note'), eq(einvoiceDocuments.documentId, creditNotes.id)))
    .where(and(isNull(einvoiceDocuments.id), gte(creditNotes.createdAt, einvoiceAccounts.createdAt), gte(creditNotes.createdAt, since)))
    .orderBy(asc(creditNotes.createdAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

/** For the tick: invoices and credit notes not queued yet, documents whose attempt stalled (crash, retries used up), pending ones to ask about. */
export async function sweepEInvoices(deps: Deps, limit = 200): Promise<{ queued: number; resent: number; polled: number }> {
  const fresh = await unqueuedInvoiceIds(deps, limit);
  for (const id of fresh) await queueEInvoice(deps, { kind: 'invoice', id });
  // Credit notes after invoices: a note names its invoice's GİB number, given when that is queued.
  const notes = await unqueuedCreditNoteIds(deps, limit);
  for (const id of notes) await queueEInvoice(deps, { kind: 'credit_note', id });
  const now = deps.clock.now().getTime();
  const stale = new Date(now - STALE_MS);
  const rows = await deps.db.select().from(einvoiceDocuments)
    .where(and(inArray(einvoiceDocuments.status, ['queued', 'sending', 'retrying', 'pending']), lt(einvoiceDocuments.updatedAt, stale)))
    .orderBy(asc(einvoiceDocuments.updatedAt)).limit(limit);
  let resent = 0, polled = 0;
  const slot = Math.floor(now / STALE_MS);
  for (const r of rows) {
    const ref = { kind: r.documentKind, id: r.documentId };
    if (r.status === 'pending') {
      if (now - r.updatedAt.getTime() < pollIntervalMs(r.sentAt, deps.clock.now())) continue;
      polled++;
      await enqueueJob(deps.queue, pollEInvoiceJob, ref, { jobId: `einvoice-poll:${r.documentKind}:${r.documentId}:sweep:${slot}` });
    } else {
      resent++;
      await enqueueJob(deps.queue, sendEInvoiceJob, ref, { jobId: `einvoice-send:${r.documentKind}:${r.documentId}:sweep:${slot}` });
    }
  }
  return { queued: fresh.length + notes.length, resent, polled };
}

export const SEND_EINVOICE_JOB = 'einvoice.send';
export const POLL_EINVOICE_JOB = 'einvoice.poll';

/** Sends one issued document (invoice or credit note) to its seller's integrator. */
export const sendEInvoiceJob = defineJob({
  name: SEND_EINVOICE_JOB,
  payload: refPayload,
  handle: (deps, ref) => sendEInvoice(deps, ref),
});

/** Asks the integrator about a pending document. */
export const pollEInvoiceJob = defineJob({
  name: POLL_EINVOICE_JOB,
  payload: refPayload,
  handle: (deps, ref) => pollEInvoice(deps, ref),
});
