import { expect } from 'chai';
import express from 'express';
import { eq } from 'drizzle-orm';
import { auditLog, einvoiceDocuments, invoices } from '../../db/schema';
import { createEInvoiceSandbox } from '../../sandboxes/einvoice';
import type { Actor } from '../../src/auth/actor';
import { creditWholeInvoice } from '../../src/billing/credit-notes.usecases';
import { saveEInvoiceAccount } from '../../src/einvoice/accounts';
import { einvoiceBacklog, sendEInvoiceBacklog } from '../../src/einvoice/backlog';
import { sweepEInvoices } from '../../src/einvoice/send';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { signIn } from '../support/http';
import { createWorld, type World } from '../support/world';
import { insertInvoice, listenClosable, personBuyer } from './fixtures';

const KEY = 'sandbox-einvoice-key-backlog';
const platformActor = (w: World): Actor => ({ kind: 'user', id: w.platformAdmin.id, scope: 'platform', agencyId: null, subAccountId: null, role: 'owner', billing: true });

/** Invoices issued before the seller chose an integrator: offered on the e-invoice page and sent with one action (issue #18). */
describe('e-Invoice backlog: invoices issued before an integrator was chosen', function () {
  this.timeout(60_000);
  let sandbox: { base: string; close: () => Promise<void> };
  let deps: TestDeps;
  let w: World;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    const web = express();
    web.use('/sandbox/einvoice', createEInvoiceSandbox({ resolveMerchant: async (key) => (key === KEY ? { name: 'Kontor' } : null) }));
    sandbox = await listenClosable(web);
  });
  after(() => sandbox.close());

  beforeEach(async () => {
    await resetData();
    deps = await makeTestDeps({ config: { SANDBOX_URL: sandbox.base }, retryDelayMs: 5, queue: 'inline' });
    deps.testClock.set(new Date('2026-03-20T09:00:00Z'));
    w = await createWorld(deps);
    app = createApp(deps);
    await fetch(`${sandbox.base}/sandbox/einvoice/control`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ reset: true }) });
  });
  afterEach(() => deps.close());

  const sandboxDocs = async () => ((await (await fetch(`${sandbox.base}/sandbox/einvoice/control`, { headers: { Authorization: `Bearer ${KEY}` } })).json()) as { documents: { number: string }[] }).documents;
  const rows = () => deps.db.select().from(einvoiceDocuments);

  it('lists taxed invoices never sent (late ones marked); "Send these" queues them once, a second press sends nothing; untaxed ones and other sellers\' are not offered', async () => {
    const old = await insertInvoice(deps, { agencyId: w.a.id, number: 1, issueDay: '2026-03-02', buyer: personBuyer(), createdAt: new Date('2026-03-02T08:00:00Z') });
    const recent = await insertInvoice(deps, { agencyId: w.a.id, number: 2, issueDay: '2026-03-18', buyer: personBuyer(), createdAt: new Date('2026-03-18T08:00:00Z') });
    await insertInvoice(deps, { agencyId: w.a.id, number: 3, issueDay: '2026-03-18', buyer: null, seller: null, createdAt: new Date('2026-03-18T09:00:00Z') });
    await insertInvoice(deps, { agencyId: w.a.id, sellerAgencyId: w.a.id, number: 1, issueDay: '2026-03-18', buyer: personBuyer(), createdAt: new Date('2026-03-18T10:00:00Z') });
    // A credit note of the recent invoice (paid, then refunded), issued before the integrator too.
    await deps.db.update(invoices).set({ status: 'paid' }).where(eq(invoices.id, recent));
    const note = await deps.db.transaction(async (tx) => {
      const [invoice] = await tx.select().from(invoices).where(eq(invoices.id, recent)).for('update');
      return (await creditWholeInvoice(tx, { invoice: invoice!, reason: 'Hizmet verilmedi', by: platformActor(w), now: deps.clock.now() }))!.id;
    });
    expect((await einvoiceBacklog(deps, null, '2026-03-20')).since).to.equal(null);

    deps.testClock.set(new Date('2026-03-20T10:00:00Z'));
    await saveEInvoiceAccount(deps, platformActor(w), null, { kind: 'sandbox', mode: 'test', apiKey: KEY, invoiceSeries: 'KNT', creditNoteSeries: 'KNI' });
    // The tick does not send them on its own: issued before the integrator was chosen.
    expect(await sweepEInvoices(deps)).to.include({ queued: 0 });
    const backlog = await einvoiceBacklog(deps, null, '2026-03-20');
    expect(backlog).to.include({ invoices: 2, creditNotes: 0 });
    expect(backlog.items.map((i) => [i.id, i.late])).to.deep.equal([[old, true], [recent, false]]);

    const { agent } = await signIn(app, w.platformAdmin.email);
    const page = await agent.get('/platform/einvoice');
    expect(page.text).to.contain('data-testid="einvoice-backlog"').and.contain('INV-000001').and.contain('INV-000002')
      .and.contain('Late: issued more than 7 days ago').and.contain('Send these 2 documents to GİB').and.not.contain('INV-000003');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const sent = await agent.post('/platform/einvoice/backlog').type('form').send({ _csrf: csrf });
    expect(sent.status).to.equal(302);
    await deps.queue.drain();
    const after = await agent.get('/platform/einvoice');
    expect(after.text).to.contain('Queued to be sent to GİB');
    expect((await rows()).filter((r) => r.documentKind === 'invoice').map((r) => [r.documentId, r.status]).sort()).to.deep.equal([[old, 'accepted'], [recent, 'accepted']].sort());

    // The credit note follows its invoice once that has its GİB number: in the same press when the
    // invoice was sent before the notes were listed (how fast the queue ran), else on the next press.
    if (!(await rows()).some((r) => r.documentId === note)) {
      expect(await sendEInvoiceBacklog(deps, platformActor(w), null, '2026-03-20')).to.deep.equal({ invoices: 0, creditNotes: 1 });
      await deps.queue.drain();
    }
    expect((await rows()).find((r) => r.documentId === note)).to.include({ status: 'accepted', profile: 'EARSIVFATURA', number: 'KNI2026000000001' });
    const audited = (await deps.db.select().from(auditLog).where(eq(auditLog.action, 'einvoice.backlog_sent'))).length;
    expect(audited).to.be.within(1, 2);

    // Pressed again (a double click, a second tab): nothing left, nothing sent twice.
    expect(await sendEInvoiceBacklog(deps, platformActor(w), null, '2026-03-20')).to.deep.equal({ invoices: 0, creditNotes: 0 });
    await Promise.all([sendEInvoiceBacklog(deps, platformActor(w), null, '2026-03-20'), sendEInvoiceBacklog(deps, platformActor(w), null, '2026-03-20')]);
    await deps.queue.drain();
    expect((await sandboxDocs()).map((d) => d.number).sort()).to.deep.equal(['KNI2026000000001', 'KNT2026000000001', 'KNT2026000000002']);
    expect(await rows()).to.have.length(3);
    expect(await deps.db.select().from(auditLog).where(eq(auditLog.action, 'einvoice.backlog_sent'))).to.have.length(audited);
    expect((await agent.get('/platform/einvoice')).text).to.not.contain('data-testid="einvoice-backlog"');
  });

  it('a seller without an integrator has no backlog to send (409), nothing written', async () => {
    await insertInvoice(deps, { agencyId: w.a.id, number: 1, issueDay: '2026-03-18', buyer: personBuyer(), createdAt: new Date('2026-03-18T08:00:00Z') });
    const refused = await sendEInvoiceBacklog(deps, platformActor(w), null, '2026-03-20').then(() => null, (err: unknown) => err as { status?: number; code?: string });
    expect(refused).to.include({ status: 409, code: 'no_integrator' });
    expect(await rows()).to.have.length(0);
  });
});
