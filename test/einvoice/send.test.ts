import { expect } from 'chai';
import express from 'express';
import { eq } from 'drizzle-orm';
import { auditLog, einvoiceDocuments, invoices } from '../../db/schema';
import { createEInvoiceSandbox } from '../../sandboxes/einvoice';
import type { Actor } from '../../src/auth/actor';
import { creditWholeInvoice } from '../../src/billing/credit-notes.usecases';
import { deliverInvoice } from '../../src/billing/invoice-delivery';
import { saveEInvoiceAccount } from '../../src/einvoice/accounts';
import { pollEInvoice, queueEInvoice, resendEInvoice, sendEInvoice, sweepEInvoices } from '../../src/einvoice/send';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { createWorld, type World } from '../support/world';
import { companyBuyer, insertInvoice, listenClosable, personBuyer } from './fixtures';

const KEY = 'sandbox-einvoice-key-0001';
const platformActor = (w: World): Actor => ({ kind: 'user', id: w.platformAdmin.id, scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true });

/** Sending e-invoices through the offline sandbox integrator (issue #18, e-Arşiv and e-Fatura). */
describe('e-Invoice sending through the sandbox integrator', function () {
  this.timeout(60_000);
  let sandbox: { base: string; close: () => Promise<void> };
  let deps: TestDeps;
  let w: World;

  before(async () => {
    const app = express();
    // Only the platform's key is known to this sandbox, as the app's mount resolves sellers' keys.
    app.use('/sandbox/einvoice', createEInvoiceSandbox({ resolveMerchant: async (key) => (key === KEY ? { name: 'Kontor' } : null) }));
    sandbox = await listenClosable(app);
  });
  after(() => sandbox.close());

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ config: { SANDBOX_URL: sandbox.base }, retryDelayMs: 5, queue: 'inline' });
    w = await createWorld(deps);
    await saveEInvoiceAccount(deps, platformActor(w), null, { kind: 'sandbox', mode: 'test', apiKey: KEY, invoiceSeries: 'KNT', creditNoteSeries: 'KNI' });
    await control({ reset: true });
  });
  afterEach(() => deps.close());

  const control = async (body?: Record<string, unknown>) => {
    const res = await fetch(`${sandbox.base}/sandbox/einvoice/control`, { method: body ? 'POST' : 'GET', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return (await res.json()) as { documents: { ettn: string; number: string; profile: string; status: string; received: number }[] };
  };
  const docRow = async (invoiceId: string) => (await deps.db.select().from(einvoiceDocuments).where(eq(einvoiceDocuments.documentId, invoiceId)))[0]!;

  it('an e-Arşiv the integrator rejects keeps its reason; sent again, it is accepted under a fresh ETTN and the same number', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 7, buyer: personBuyer() });
    await control({ rejectNext: 1, reason: 'Alıcı adresi eksik' });
    expect(await queueEInvoice(deps, { kind: 'invoice', id })).to.equal('queued');
    await deps.queue.drain();
    const rejected = await docRow(id);
    expect(rejected).to.include({ status: 'rejected', error: 'Alıcı adresi eksik', profile: 'EARSIVFATURA', number: 'KNT2026000000007', attempts: 1, integrator: 'sandbox' });
    expect(rejected.uuid).to.match(/^[0-9a-f-]{36}$/);
    expect(rejected.acceptedAt).to.equal(null);
    // The job running again sends nothing: a rejection waits for the seller.
    expect(await sendEInvoice(deps, { kind: 'invoice', id })).to.equal('rejected');
    expect((await control()).documents).to.have.length(1);

    await resendEInvoice(deps, platformActor(w), null, { kind: 'invoice', id });
    await deps.queue.drain();
    const accepted = await docRow(id);
    expect(accepted).to.include({ status: 'accepted', error: null, number: 'KNT2026000000007', attempts: 2 });
    expect(accepted.uuid).to.not.equal(rejected.uuid);
    expect(accepted.acceptedAt).to.be.instanceOf(Date);
    const seen = (await control()).documents;
    expect(seen.map((d) => [d.ettn, d.status])).to.deep.equal([[rejected.uuid, 'rejected'], [accepted.uuid, 'accepted']]);
    expect(seen.every((d) => d.number === 'KNT2026000000007' && d.profile === 'EARSIVFATURA')).to.equal(true);
    const audit = await deps.db.select().from(auditLog).where(eq(auditLog.action, 'einvoice.resent'));
    expect(audit).to.have.length(1);
  });

  it('an issued invoice is sent once it is delivered, and delivering again sends nothing more', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 30, buyer: personBuyer(), status: 'draft' });
    expect(await deliverInvoice(deps, id)).to.equal('delivered');
    await deps.queue.drain();
    expect(await docRow(id)).to.include({ status: 'accepted', number: 'KNT2026000000030', profile: 'EARSIVFATURA' });
    await deliverInvoice(deps, id);
    await deps.queue.drain();
    expect((await control()).documents).to.have.length(1);
  });

  it('a buyer the sandbox is told to reject by name is rejected with the sandbox\'s reason', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 8, buyer: companyBuyer({ legalName: 'REJECT Test Ltd. Şti.', eInvoiceRegistered: false }) });
    await queueEInvoice(deps, { kind: 'invoice', id });
    await deps.queue.drain();
    expect(await docRow(id)).to.include({ status: 'rejected', error: 'Sandbox: the buyer is marked to be rejected.' });
  });

  it('is idempotent: the job run twice, or run again after a crash cut the first attempt short, sends the document once', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 9 });
    expect(await sendEInvoice(deps, { kind: 'invoice', id })).to.equal('accepted');
    expect(await sendEInvoice(deps, { kind: 'invoice', id })).to.equal('accepted');
    await queueEInvoice(deps, { kind: 'invoice', id });
    await deps.queue.drain();
    const first = await docRow(id);
    expect(first).to.include({ status: 'accepted', profile: 'TEMELFATURA', attempts: 1 });
    // A crash after the integrator took it but before the answer was recorded: the row still says
    // "sending", and the tick sends it again under the same ETTN; the integrator answers the first outcome.
    await deps.db.update(einvoiceDocuments).set({ status: 'sending', acceptedAt: null, updatedAt: new Date(deps.clock.now().getTime() - 10 * 60_000) }).where(eq(einvoiceDocuments.id, first.id));
    expect(await sweepEInvoices(deps)).to.include({ resent: 1 });
    await deps.queue.drain();
    const after = await docRow(id);
    expect(after).to.include({ status: 'accepted', uuid: first.uuid, attempts: 2 });
    const seen = (await control()).documents;
    expect(seen).to.have.length(1);
    expect(seen[0]).to.include({ ettn: first.uuid, received: 1 });
  });

  it('an attempt in flight is not doubled by a second run', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 10 });
    await queueEInvoice(deps, { kind: 'invoice', id });
    const row = await docRow(id);
    await deps.db.update(einvoiceDocuments).set({ status: 'sending', updatedAt: deps.clock.now() }).where(eq(einvoiceDocuments.id, row.id));
    expect(await sendEInvoice(deps, { kind: 'invoice', id })).to.equal('in_flight');
    await deps.queue.drain();
    expect((await control()).documents).to.have.length(0);
  });

  it('transport failures retry with back-off until the integrator answers; the row says it is retrying meanwhile', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 11 });
    await control({ failNext: 2 });
    await queueEInvoice(deps, { kind: 'invoice', id });
    await deps.queue.drain();
    const row = await docRow(id);
    expect(row).to.include({ status: 'accepted', attempts: 3, error: null });
    expect((await control()).documents).to.have.length(1);
    // While failing: "retrying" with the reason, and the attempt fails so the queue retries it.
    const id2 = await insertInvoice(deps, { agencyId: w.a.id, number: 12 });
    await control({ failNext: 1 });
    let failure: unknown;
    await sendEInvoice(deps, { kind: 'invoice', id: id2 }).catch((e: unknown) => (failure = e));
    expect(failure).to.have.property('name', 'IntegratorTransportError');
    const retrying = await docRow(id2);
    expect(retrying).to.include({ status: 'retrying', error: 'einvoice:reason.transport', attempts: 1 });
    expect(await sendEInvoice(deps, { kind: 'invoice', id: id2 })).to.equal('accepted');
    expect(await docRow(id2)).to.include({ status: 'accepted', uuid: retrying.uuid, attempts: 2, error: null });
  });

  it('a pending answer is asked about again and recorded when GİB answers', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 13, buyer: personBuyer() });
    await control({ pendingNext: 1 });
    expect(await sendEInvoice(deps, { kind: 'invoice', id })).to.equal('pending');
    expect(await docRow(id)).to.include({ status: 'pending' });
    expect(await pollEInvoice(deps, { kind: 'invoice', id })).to.equal('accepted');
    expect(await docRow(id)).to.include({ status: 'accepted', attempts: 1 });
  });

  it('an invoice issued without tax identities is not sendable, says why, and reaches no integrator', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 14, buyer: null, seller: null });
    await queueEInvoice(deps, { kind: 'invoice', id });
    await deps.queue.drain();
    expect(await docRow(id)).to.include({ status: 'not_sendable', error: 'einvoice:reason.noTaxIdentities', uuid: null });
    expect((await control()).documents).to.have.length(0);
  });

  it('a seller without an integrator sends nothing; the tick queues invoices issued after one is chosen, not before', async () => {
    const agencyInvoice = await insertInvoice(deps, { agencyId: w.a.id, sellerAgencyId: w.a.id, number: 1 });
    expect(await queueEInvoice(deps, { kind: 'invoice', id: agencyInvoice })).to.equal('no_integrator');
    expect(await deps.db.select().from(einvoiceDocuments)).to.have.length(0);
    const later = await insertInvoice(deps, { agencyId: w.a.id, number: 15, createdAt: new Date(Date.now() + 60_000) });
    const before = await insertInvoice(deps, { agencyId: w.a.id, number: 16, createdAt: new Date('2020-01-01T00:00:00Z') });
    expect(await sweepEInvoices(deps)).to.include({ queued: 1 });
    await deps.queue.drain();
    expect(await docRow(later)).to.include({ status: 'accepted' });
    expect(await deps.db.select().from(einvoiceDocuments).where(eq(einvoiceDocuments.documentId, before))).to.have.length(0);
  });

  it('a credit note goes as an IADE naming its invoice\'s GİB number, after that invoice; one of an invoice never sent says why', async () => {
    const sent = await insertInvoice(deps, { agencyId: w.a.id, number: 20, buyer: personBuyer() });
    const unsent = await insertInvoice(deps, { agencyId: w.a.id, number: 21, buyer: personBuyer(), createdAt: new Date('2020-01-01T00:00:00Z') });
    await queueEInvoice(deps, { kind: 'invoice', id: sent });
    await deps.queue.drain();
    const credit = async (invoiceId: string) => deps.db.transaction(async (tx) => {
      const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, invoiceId)).for('update');
      return (await creditWholeInvoice(tx, { invoice: invoice!, reason: 'Hizmet verilmedi', by: platformActor(w), now: deps.clock.now() }))!.id;
    });
    const note = await credit(sent);
    const orphan = await credit(unsent);
    expect(await sweepEInvoices(deps)).to.include({ queued: 2 });
    await deps.queue.drain();
    const row = await docRow(note);
    expect(row).to.include({ documentKind: 'credit_note', status: 'accepted', profile: 'EARSIVFATURA' });
    expect(row.number).to.match(/^KNI20\d{2}000000001$/);
    expect(await docRow(orphan)).to.include({ status: 'not_sendable', error: 'einvoice:reason.invoiceNotSent', uuid: null });
    const seen = (await control()).documents;
    expect(seen.map((d) => d.number)).to.deep.equal(['KNT2026000000020', row.number]);
    // The tick again: nothing more is queued or sent.
    expect(await sweepEInvoices(deps)).to.include({ queued: 0 });
    await deps.queue.drain();
    expect((await control()).documents).to.have.length(2);
  });

  it('only the seller may send a document again, and only a rejected one', async () => {
    const id = await insertInvoice(deps, { agencyId: w.a.id, number: 17 });
    await queueEInvoice(deps, { kind: 'invoice', id });
    await deps.queue.drain();
    const agencyActor: Actor = { kind: 'user', id: w.a.owner.id, scope: 'agency', agencyId: w.a.id, subAccountId: null, role: 'owner', billing: true };
    await expectError(resendEInvoice(deps, agencyActor, w.a.id, { kind: 'invoice', id }), 404);
    await expectError(resendEInvoice(deps, platformActor(w), null, { kind: 'invoice', id }), 409);
    expect(await docRow(id)).to.include({ status: 'accepted', attempts: 1 });
  });
});

async function expectError(p: Promise<unknown>, status: number): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as { status?: number }).status).to.equal(status);
    return;
  }
  expect.fail(`expected an error ${status}`);
}
