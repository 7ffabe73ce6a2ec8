// A client suspended by hand by its agency and for overdue invoices keeps both reasons apart:
// paying lifts the overdue one only; the agency's reactivation lifts its own only.
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { subAccounts } from '../../db/schema';
import { evaluateSuspension } from '../../src/suspension/suspension.usecases';
import { signIn } from '../support/http';
import { worldAppPerTest } from '../support/world-app';

describe('manual and overdue suspension of a client', () => {
  const t = worldAppPerTest();
  const row = async () => (await t.deps.db.select().from(subAccounts).where(eq(subAccounts.id, t.w.a.subs[0].id)))[0]!;

  it('paying the overdue invoices leaves a hand-set suspension in place; reactivating by hand leaves an overdue one', async () => {
    const owner = await signIn(t.app, t.w.a.owner.email);
    const url = `/agency/sub-accounts/${t.w.a.subs[0].id}`;
    await owner.agent.post(`${url}/suspend`).type('form').send({ _csrf: owner.csrf, reason: 'Chargeback under review' }).expect(302);
    expect(await row()).to.include({ status: 'suspended', manualSuspended: true, overdueSuspendedAt: null });
    // The overdue rule had suspended it too; its invoices are now paid (none overdue): the rule lifts
    // its own reason only.
    await t.deps.db.update(subAccounts).set({ overdueSuspendedAt: t.deps.clock.now() }).where(eq(subAccounts.id, t.w.a.subs[0].id));
    expect(await evaluateSuspension(t.deps, { agencyId: t.w.a.id, subAccountId: t.w.a.subs[0].id })).to.equal('reactivated');
    expect(await row()).to.include({ status: 'suspended', manualSuspended: true, overdueSuspendedAt: null });
    // And the other way round: overdue again, then the agency lifts its own suspension.
    await t.deps.db.update(subAccounts).set({ overdueSuspendedAt: t.deps.clock.now() }).where(eq(subAccounts.id, t.w.a.subs[0].id));
    await owner.agent.post(`${url}/reactivate`).type('form').send({ _csrf: owner.csrf }).expect(302);
    const after = await row();
    expect(after).to.include({ status: 'suspended', manualSuspended: false });
    expect(after.overdueSuspendedAt).to.be.instanceOf(Date);
    await t.deps.db.update(subAccounts).set({ overdueSuspendedAt: null, status: 'active' }).where(eq(subAccounts.id, t.w.a.subs[0].id));
  });
});
