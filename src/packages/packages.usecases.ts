import { and, asc, desc, eq, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { agencies, currencies, departments, packages, packageTypes, packageVersions } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { agencyIdOf, requireBilling, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors, ValidationError } from '../lib/errors';
import { MAX_PRICE_MINOR } from '../lib/money';
import { newId } from '../lib/ids';
import { checkbox, name, opaqueId, parse, wholeNumber } from '../lib/validation';

export const MAX_PACKAGE_CREDITS = 1_000_000_000;


const packageFields = {
  name: name('Name'),
  type: z.enum(packageTypes, { error: 'type must be "credit" or "subscription".' }),
  priceMinor: wholeNumber('priceMinor', 1, MAX_PRICE_MINOR),
  currency: z.enum(currencies, { error: `currency must be one of ${currencies.join(', ')}.` }),
  credits: wholeNumber('credits', 0, MAX_PACKAGE_CREDITS),
  termMonths: z.union([z.null(), wholeNumber('termMonths', 1, 36)]).optional(),
  chatbots: wholeNumber('chatbots', 0, 10_000).default(0),
  departmentIds: z.array(opaqueId, { error: 'departmentIds must be a list of department ids.' }).max(200).default([]),
  published: checkbox.default(false),
};

const termRule = (v: { type?: string; termMonths?: number | null }, ctx: z.RefinementCtx) => {
  if (v.type === 'subscription' && !v.termMonths) ctx.addIssue({ code: 'custom', path: ['termMonths'], message: 'A subscription needs a term in months (1 to 36).' });
  if (v.type === 'credit' && v.termMonths) ctx.addIssue({ code: 'custom', path: ['termMonths'], message: 'A credit package has no term.' });
};

export const createPackageSchema = z.object(packageFields).superRefine(termRule);
export const updatePackageSchema = z.object(packageFields).partial();

export type PackageVersion = typeof packageVersions.$inferSelect;
export interface PackageView {
  id: string;
  agencyId: string;
  published: boolean;
  version: PackageVersion;
  createdAt: Date;
}

/** Package screens and API: an agency user with the billing permission, on a plan with the reselling module. */
export async function requireReselling(deps: Pick<Deps, 'db'>, actor: Actor): Promise<string> {
  const agencyId = agencyIdOf(actor);
  requireBilling(actor);
  const [agency] = await deps.db.select({ resellingModule: agencies.resellingModule }).from(agencies).where(eq(agencies.id, agencyId));
  if (!agency?.resellingModule) throw errors.moduleRequired('reselling');
  return agencyId;
}

async function checkDepartments(db: DbOrTx, agencyId: string, ids: string[]) {
  if (ids.length === 0) return;
  const own = await db.select({ id: departments.id }).from(departments).where(and(eq(departments.agencyId, agencyId), inArray(departments.id, ids), isNull(departments.archivedAt)));
  const unknown = ids.filter((id) => !own.some((d) => d.id === id));
  if (unknown.length) throw new ValidationError({ departmentIds: `Unknown departments: ${unknown.join(', ')}.` });
}

export async function createPackage(deps: Deps, params: { actor: Actor; input: unknown }): Promise<PackageView> {
  requireRole(params.actor, 'admin');
  const agencyId = await requireReselling(deps, params.actor);
  const input = parse(createPackageSchema, params.input);
  const departmentIds = [...new Set(input.departmentIds)];
  await checkDepartments(deps.db, agencyId, departmentIds);
  const now = deps.clock.now();
  const id = newId('pkg');
  const versionId = newId('pkv');
  await deps.db.transaction(async (tx) => {
    await tx.insert(packages).values({ id, agencyId, currentVersionId: versionId, published: input.published, createdAt: now, updatedAt: now });
    await tx.insert(packageVersions).values({
      id: versionId, packageId: id, agencyId, version: 1, name: input.name, type: input.type, priceMinor: input.priceMinor, currency: input.currency,
      credits: input.credits, termMonths: input.type === 'subscription' ? input.termMonths! : null, chatbots: input.chatbots, departmentIds, createdAt: now,
    });
    await recordAudit(tx, params.actor, { action: 'package.created', targetType: 'package', targetId: id, data: { ...input, departmentIds } }, now);
  });
  return getPackage(deps, { actor: params.actor, packageId: id });
}

/**
 * Edits a package. Changed terms become a new version; buyers keep the version they bought.
 * Publishing or unpublishing alone creates no version.
 */
export async function updatePackage(deps: Deps, params: { actor: Actor; packageId: string; input: unknown }): Promise<PackageView> {
  requireRole(params.actor, 'admin');
  const agencyId = await requireReselling(deps, params.actor);
  const current = await getPackage(deps, { actor: params.actor, packageId: params.packageId });
  const patch = parse(updatePackageSchema, params.input);
  const v = current.version;
  const next = {
    name: patch.name ?? v.name, type: patch.type ?? v.type, priceMinor: patch.priceMinor ?? v.priceMinor, currency: patch.currency ?? v.currency,
    credits: patch.credits ?? v.credits, termMonths: patch.termMonths !== undefined ? patch.termMonths : v.termMonths, chatbots: patch.chatbots ?? v.chatbots,
    departmentIds: patch.departmentIds ? [...new Set(patch.departmentIds)].sort() : v.departmentIds,
  };
  if (next.type === 'credit' && patch.type === 'credit' && patch.termMonths === undefined) next.termMonths = null;
  parse(z.object({ type: z.string(), termMonths: z.number().nullable() }).superRefine(termRule), next);
  await checkDepartments(deps.db, agencyId, next.departmentIds);
  const changed = (['name', 'type', 'priceMinor', 'currency', 'credits', 'termMonths', 'chatbots'] as const).some((k) => next[k] !== v[k]) ||
    next.departmentIds.join(',') !== [...v.departmentIds].sort().join(',');
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    let versionId = v.id;
    if (changed) {
      versionId = newId('pkv');
      await tx.insert(packageVersions).values({ id: versionId, packageId: current.id, agencyId, version: v.version + 1, ...next, termMonths: next.type === 'subscription' ? next.termMonths : null, createdAt: now });
    }
    await tx.update(packages).set({ currentVersionId: versionId, published: patch.published ?? current.published, updatedAt: now }).where(eq(packages.id, current.id));
    await recordAudit(tx, params.actor, { action: 'package.updated', targetType: 'package', targetId: current.id, data: { patch, newVersion: changed } }, now);
  });
  return getPackage(deps, { actor: params.actor, packageId: current.id });
}

const viewOf = (p: typeof packages.$inferSelect, v: PackageVersion): PackageView => ({ id: p.id, agencyId: p.agencyId, published: p.published, version: v, createdAt: p.createdAt });

/** The agency's packages (all of them), or for a sub-account its agency's published ones. */
/** Whether the agency may sell packages at all (its plan includes the reselling module). */
async function sells(deps: Pick<Deps, 'db'>, agencyId: string): Promise<boolean> {
  const [row] = await deps.db.select({ on: agencies.resellingModule }).from(agencies).where(eq(agencies.id, agencyId));
  return Boolean(row?.on);
}

export async function listPackages(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<PackageView[]> {
  const { actor } = params;
  if (!actor.agencyId) throw errors.wrongScope('agency or sub-account');
  // A client sees nothing to buy once its agency's plan loses the reselling module.
  if (actor.scope === 'sub_account' && !(await sells(deps, actor.agencyId))) return [];
  const rows = await deps.db
    .select({ p: packages, v: packageVersions })
    .from(packages)
    .innerJoin(packageVersions, eq(packageVersions.id, packages.currentVersionId))
    .where(and(eq(packages.agencyId, actor.agencyId), isNull(packages.archivedAt), actor.scope === 'sub_account' ? eq(packages.published, true) : undefined))
    .orderBy(asc(packageVersions.type), asc(packageVersions.priceMinor), desc(packages.createdAt));
  return rows.map((r) => viewOf(r.p, r.v));
}

/** One package of the actor's agency (sub-accounts: only published ones); others are "not found". */
export async function getPackage(deps: Pick<Deps, 'db'>, params: { actor: Actor; packageId: string }): Promise<PackageView> {
  const { actor } = params;
  if (!actor.agencyId) throw errors.notFound('Package');
  const [row] = await deps.db
    .select({ p: packages, v: packageVersions })
    .from(packages)
    .innerJoin(packageVersions, eq(packageVersions.id, packages.currentVersionId))
    .where(and(eq(packages.id, params.packageId), eq(packages.agencyId, actor.agencyId), isNull(packages.archivedAt)));
  if (!row || (actor.scope === 'sub_account' && (!row.p.published || !(await sells(deps, actor.agencyId))))) throw errors.notFound('Package');
  return viewOf(row.p, row.v);
}
