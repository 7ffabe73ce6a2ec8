// An agency suspends one of its clients by hand, and lifts that suspension (issue 16).
//
// The hand-set reason is `sub_accounts.manual_suspended` (as `agencies.manual_suspended` is the
// platform's); the overdue rule sets `overdue_suspended_at`. `status` is 'suspended' while either
// holds, and everything that serves reads `status`, so the suspension holds at once. Paying
// overdue invoices never lifts a suspension set by hand; lifting it never lifts an overdue one.
import { and, eq } from 'drizzle-orm';
import { subAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole, requireScope } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { name as text, parse } from '../lib/validation';
import { z } from 'zod';
import type { SubAccount } from '../tenancy/sub-accounts.usecases';
import { msg } from '../lib/message';
import { emitEvent } from '../webhooks/emit';

const reasonSchema = z.object({ reason: text('Reason') });

/** Whether the client's suspension (if any) was set by hand rather than by its overdue invoices. */
export const isManuallySuspended = (sub: Pick<SubAccount, 'manualSuspended'>) => sub.manualSuspended;

function requireAgencyBillingAdmin(actor: Actor): string {
  requireScope(actor, 'agency');
  requireRole(actor, 'admin');
  requireBilling(actor);
  return actor.agencyId!;
}

/** Suspends one of the actor's clients at once; audit-logged with the reason given. */
export async function suspendSubAccount(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; subAccountId: string; input: unknown }): Promise<SubAccount> {
  const agencyId = requireAgencyBillingAdmin(params.actor);
  const { reason } = parse(reasonSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [sub] = await tx.select().from(subAccounts).where(and(eq(subAccounts.id, params.subAccountId), eq(subAccounts.agencyId, agencyId))).for('update');
    if (!sub) throw errors.notFound('Sub-account');
    if (sub.manualSuspended) throw errors.conflict('already_suspended', msg('errors:suspension.alreadySuspended', { name: sub.name }));
    const [row] = await tx.update(subAccounts).set({ manualSuspended: true, status: 'suspended', suspendedAt: sub.suspendedAt ?? now, updatedAt: now }).where(eq(subAccounts.id, sub.id)).returning();
    await recordAudit(tx, params.actor, { action: 'account.suspended', targetType: 'sub_account', targetId: sub.id, agencyId, subAccountId: sub.id, data: { reason: 'manual', note: reason } }, now);
    if (sub.status !== 'suspended') await emitEvent(tx, { type: 'account.suspended', at: now, data: { account: { agencyId, subAccountId: sub.id }, reason: 'manual', overdueInvoices: 0 } });
    return row!;
  });
}

/**
 * Lifts a suspension set by hand. A client suspended for its overdue invoices comes back when
 * they are paid, not by this action (the agency would otherwise serve a client that owes it).
 */
export async function reactivateSubAccount(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; subAccountId: string }): Promise<SubAccount> {
  const agencyId = requireAgencyBillingAdmin(params.actor);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [sub] = await tx.select().from(subAccounts).where(and(eq(subAccounts.id, params.subAccountId), eq(subAccounts.agencyId, agencyId))).for('update');
    if (!sub) throw errors.notFound('Sub-account');
    if (sub.status !== 'suspended') throw errors.conflict('not_suspended', msg('errors:suspension.notSuspended', { name: sub.name }));
    if (!isManuallySuspended(sub)) throw errors.conflict('suspended_for_overdue_invoices', msg('errors:suspension.forOverdue', { name: sub.name }));
    // Lifting the hand-set reason: still suspended while its invoices are overdue.
    const still = sub.overdueSuspendedAt !== null;
    const [row] = await tx.update(subAccounts).set({ manualSuspended: false, status: still ? 'suspended' : 'active', suspendedAt: still ? sub.suspendedAt : null, updatedAt: now }).where(eq(subAccounts.id, sub.id)).returning();
    await recordAudit(tx, params.actor, { action: 'account.reactivated', targetType: 'sub_account', targetId: sub.id, agencyId, subAccountId: sub.id, data: { reason: 'manual' } }, now);
    if (!still) await emitEvent(tx, { type: 'account.reactivated', at: now, data: { account: { agencyId, subAccountId: sub.id }, reason: 'manual' } });
    return row!;
  });
}
