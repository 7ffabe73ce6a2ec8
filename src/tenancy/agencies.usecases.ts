import { desc, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import { agencies, platform } from '../../db/schema';
import type { Tx } from '../../db/client';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireRole, requireScope } from '../auth/policies';
import { setAgencyPlan } from '../billing/subscriptions.usecases';
import { billingPackageOf } from '../catalog/billing-offers';
import { planByCode } from '../catalog/catalog.usecases';
import type { Deps } from '../deps';
import { ValidationError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { blankToNull, checkbox, name, optionalEmail, parse } from '../lib/validation';
import { emitEvent } from '../webhooks/emit';

export const createAgencySchema = z.object({
  name: name('Name'),
  billingEmail: optionalEmail,
  resellingModule: checkbox,
  planCode: blankToNull(z.string().trim().max(64, 'Plan code is too long.')),
});

export type Agency = typeof agencies.$inferSelect;

export async function getPlatformId(deps: Pick<Deps, 'db'>): Promise<string> {
  const [row] = await deps.db.select({ id: platform.id }).from(platform).limit(1);
  if (!row) throw new Error('platform row missing: run the migrations and the bootstrap');
  return row.id;
}

/**
 * An agency's plan is one of the platform's plans, picked from the list (never free text): a
 * published plan, or the plan the agency is on already (a retired plan is kept, not newly given).
 * Only a `plan` offer of the platform is found by its code: an agency's offer, another kind or a
 * made-up code is refused. Choosing a plan starts (or changes, or with none cancels) the agency's
 * monthly plan subscription on the billing engine (docs/catalog.md, "Plans").
 */
async function choosePlan(tx: Tx, p: { actor: Actor; agencyId: string; code: string | null; current: string | null; now: Date }): Promise<void> {
  if (p.code === p.current) return;
  const plan = p.code === null ? null : await planByCode(tx, p.code);
  if (plan !== null && (!plan?.published || plan.retired)) throw new ValidationError({ planCode: 'Pick one of the platform\'s published plans from the list.' });
  await setAgencyPlan(tx, { actor: p.actor, agencyId: p.agencyId, plan: plan ? billingPackageOf(plan.offer) : null, now: p.now });
}

export async function createAgency(deps: Deps, params: { actor: Actor; input: unknown }): Promise<Agency> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = parse(createAgencySchema, params.input);
  const platformId = await getPlatformId(deps);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [agency] = await tx
      .insert(agencies)
      .values({ id: newId('agy'), platformId, ...input, createdAt: now, updatedAt: now })
      .returning();
    await choosePlan(tx, { actor: params.actor, agencyId: agency!.id, code: input.planCode, current: null, now });
    await recordAudit(tx, params.actor, { action: 'agency.created', targetType: 'agency', targetId: agency!.id, agencyId: agency!.id, data: input }, now);
    return agency!;
  });
}

export async function listAgencies(deps: Deps, params: { actor: Actor; limit?: number; before?: string }): Promise<Agency[]> {
  requireScope(params.actor, 'platform');
  return deps.db
    .select()
    .from(agencies)
    .where(params.before ? lt(agencies.id, params.before) : undefined)
    .orderBy(desc(agencies.id))
    .limit(Math.min(params.limit ?? 100, 500));
}

export async function getAgency(deps: Deps, params: { actor: Actor; agencyId: string }): Promise<Agency> {
  // A platform actor sees every agency; an agency actor only its own.
  if (params.actor.scope === 'agency' && params.actor.agencyId !== params.agencyId) throw errors.notFound('Agency');
  if (params.actor.scope === 'sub_account') throw errors.notFound('Agency');
  const [row] = await deps.db.select().from(agencies).where(eq(agencies.id, params.agencyId));
  if (!row) throw errors.notFound('Agency');
  return row;
}

export const updateAgencySchema = z.object({
  suspended: checkbox,
  resellingModule: checkbox,
  planCode: blankToNull(z.string().trim().max(64, 'Plan code is too long.')),
});

/** The platform admin's flags: suspended, reselling module, plan. */
export async function updateAgencyFlags(deps: Deps, params: { actor: Actor; agencyId: string; input: unknown }): Promise<Agency> {
  requireScope(params.actor, 'platform');
  requireRole(params.actor, 'admin');
  const input = parse(updateAgencySchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [before] = await tx.select().from(agencies).where(eq(agencies.id, params.agencyId)).for('update');
    if (!before) throw errors.notFound('Agency');
    await choosePlan(tx, { actor: params.actor, agencyId: params.agencyId, code: input.planCode, current: before.planCode, now });
    // The manual flag is one of two reasons to be suspended; two overdue invoices are the other
    // (src/suspension). Lifting the flag leaves an agency suspended for its invoices suspended.
    const status = input.suspended || before.overdueSuspendedAt ? 'suspended' : 'active';
    const [after] = await tx
      .update(agencies)
      .set({
        status,
        manualSuspended: input.suspended,
        suspendedAt: status === 'suspended' ? (before.suspendedAt ?? now) : null,
        resellingModule: input.resellingModule,
        planCode: input.planCode,
        updatedAt: now,
      })
      .where(eq(agencies.id, params.agencyId))
      .returning();
    await recordAudit(
      tx,
      params.actor,
      {
        action: 'agency.updated',
        targetType: 'agency',
        targetId: params.agencyId,
        agencyId: params.agencyId,
        data: {
          before: { status: before.status, manualSuspended: before.manualSuspended, resellingModule: before.resellingModule, planCode: before.planCode },
          after: { status, manualSuspended: input.suspended, resellingModule: input.resellingModule, planCode: input.planCode },
        },
      },
      now,
    );
    const whom = { agencyId: params.agencyId, subAccountId: null };
    if (status !== before.status) await (status === 'suspended' ? emitEvent(tx, { type: 'account.suspended', at: now, data: { account: whom, reason: 'manual', overdueInvoices: 0 } }) : emitEvent(tx, { type: 'account.reactivated', at: now, data: { account: whom, reason: 'manual' } }));
    return after!;
  });
}

const isZone = (z: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: z });
    return true;
  } catch {
    return false;
  }
};

export const agencySettingsSchema = z.object({
  billingEmail: optionalEmail,
  /** A list, or text with one address per line or separated by commas (the form). */
  ccEmails: z
    .union([z.array(z.string()), z.string()], { error: 'ccEmails must be a list of email addresses.' })
    .transform((v) => (Array.isArray(v) ? v : v.split(/[\s,;]+/)).map((e) => e.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.email('Every CC address must be a valid email address.')).max(10, 'At most 10 CC addresses.'))
    .transform((list) => [...new Set(list)]),
  locale: z.enum(['en', 'tr'], { error: 'Language must be en or tr.' }),
  timeZone: z.string().trim().refine(isZone, 'Unknown time zone (use an IANA name such as Europe/Istanbul).'),
  restrictDepartmentsToPackages: checkbox,
  /** Days from an invoice's issue to its due date, for the invoices this agency issues (a form sends text). */
  invoiceDueDays: z.preprocess((v) => (typeof v === 'string' && /^\d{1,3}$/.test(v.trim()) ? Number(v.trim()) : v), z.number({ error: 'Invoice due days must be a whole number from 0 to 90.' }).int('Invoice due days must be a whole number from 0 to 90.').min(0, 'Invoice due days must be a whole number from 0 to 90.').max(90, 'Invoice due days must be a whole number from 0 to 90.')),
});

/** The agency's own settings: where purchase emails go, its language and time zone, department rules. */
export async function updateAgencySettings(deps: Deps, params: { actor: Actor; input: unknown }): Promise<Agency> {
  const agencyId = params.actor.agencyId;
  requireScope(params.actor, 'agency');
  requireRole(params.actor, 'admin');
  const current = await getAgency(deps, { actor: params.actor, agencyId: agencyId! });
  const input = parse(agencySettingsSchema, {
    billingEmail: current.billingEmail, ccEmails: current.ccEmails, locale: current.locale, timeZone: current.timeZone,
    restrictDepartmentsToPackages: current.restrictDepartmentsToPackages, invoiceDueDays: current.invoiceDueDays, ...(params.input as object),
  });
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.update(agencies).set({ ...input, updatedAt: now }).where(eq(agencies.id, current.id)).returning();
    await recordAudit(tx, params.actor, { action: 'agency.settings_updated', targetType: 'agency', targetId: current.id, data: input }, now);
    return row!;
  });
}
