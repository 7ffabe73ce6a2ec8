// Texts Kontor writes on invoices are stored with a catalog key beside the text as issued
// (invoice_lines.description_key, docs/i18n.md) and read in the reader's language on the page,
// while the API keeps the issued text and adds the key.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import request from 'supertest';
import { agencies, invoiceLines, invoices } from '../../db/schema';
import { settleAnyPayment } from '../../src/payments/settlement';
import { createApp } from '../../src/web/app';
import { resetData } from '../support/db';
import { makeTestDeps, type TestDeps } from '../support/deps';
import { bearer, signIn } from '../support/http';
import { createWorld, type World } from '../support/world';

describe('i18n: texts Kontor stores on invoices', () => {
  let deps: TestDeps;
  let w: World;
  before(async () => {
    await resetData();
    deps = await makeTestDeps();
    w = await createWorld(deps);
  });
  after(() => deps.close());

  it('a WhatsApp balance top-up line: key stored at insert, Turkish on the page, key and issued text in the API', async () => {
    const app = createApp(deps);
    const sub = w.a.subs[0];
    const res = await request(app).post('/api/v1/whatsapp-balance/top-ups').set(bearer(sub.key)).send({ amountMinor: 5_000, currency: 'TRY' }).expect(201);
    await settleAnyPayment(deps, { paymentId: res.body.paymentId as string, approved: true, raw: {} });
    const [line] = await deps.db.select({ line: invoiceLines, status: invoices.status, invoiceId: invoices.id }).from(invoiceLines).innerJoin(invoices, eq(invoices.id, invoiceLines.invoiceId)).where(eq(invoices.subAccountId, sub.id));
    expect(line!.status).to.equal('paid');
    expect(line!.line).to.include({ description: 'WhatsApp balance', descriptionKey: 'billing:line.whatsappBalance' });

    const api = await request(app).get(`/api/v1/invoices/${line!.invoiceId}`).set(bearer(sub.key)).set('Accept-Language', 'tr').expect(200);
    expect(api.body.lines[0]).to.include({ description: 'WhatsApp balance', descriptionKey: 'billing:line.whatsappBalance' });
    expect(api.body.lines[0].descriptionParams).to.deep.equal({});

    await deps.db.update(agencies).set({ locale: 'tr' }).where(eq(agencies.id, w.a.id));
    const { agent } = await signIn(app, sub.owner.email);
    const page = await agent.get(`/portal/billing/invoices/${line!.invoiceId}`).expect(200);
    expect(page.text).to.contain('WhatsApp bakiyesi').and.not.contain('WhatsApp balance');
  });
});
