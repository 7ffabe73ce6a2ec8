import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { departments, subAccountDepartments } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { agencyIdOf, requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { errors, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { name, opaqueId, parse } from '../lib/validation';
import { getSubAccount } from '../tenancy/sub-accounts.usecases';
import { msg } from '../lib/message';

export type Department = typeof departments.$inferSelect;

export const MAX_CREDITS_PER_REQUEST = 1_000_000;
const creditsPerRequest = z
  .number({ error: 'creditsPerRequest must be a whole number.' })
  .int('creditsPerRequest must be a whole number.')
  .min(0, 'creditsPerRequest cannot be negative.')
  .max(MAX_CREDITS_PER_REQUEST, msg('errors:zodField.tooBig.number', { field: 'creditsPerRequest', limit: MAX_CREDITS_PER_REQUEST }));

export const departmentSchema = z.object({ name: name('Name'), creditsPerRequest });
/** HTML forms send strings. */
export const departmentFormSchema = z.object({
  name: z.string().optional(),
  creditsPerRequest: z.string().trim().regex(/^\d{1,7}$/, 'Enter a whole number of credits (0 or more).').transform(Number),
});

export async function createDepartment(deps: Deps, params: { actor: Actor; input: unknown }): Promise<Department> {
  const agencyId = agencyIdOf(params.actor);
  requireRole(params.actor, 'admin');
  const input = parse(departmentSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.insert(departments).values({ id: newId('dep'), agencyId, ...input, createdAt: now, updatedAt: now }).returning();
    await recordAudit(tx, params.actor, { action: 'department.created', targetType: 'department', targetId: row!.id, data: input }, now);
    return row!;
  });
}

export async function listDepartments(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<Department[]> {
  const agencyId = params.actor.agencyId;
  if (!agencyId) throw errors.wrongScope('agency');
  return deps.db.select().from(departments).where(and(eq(departments.agencyId, agencyId), isNull(departments.archivedAt))).orderBy(asc(departments.name));
}

async function ownDepartment(deps: Pick<Deps, 'db'>, agencyId: string, id: string): Promise<Department> {
  const [row] = await deps.db.select().from(departments).where(and(eq(departments.id, id), eq(departments.agencyId, agencyId), isNull(departments.archivedAt)));
  if (!row) throw errors.notFound('Department');
  return row;
}

export async function updateDepartment(deps: Deps, params: { actor: Actor; departmentId: string; input: unknown }): Promise<Department> {
  const agencyId = agencyIdOf(params.actor);
  requireRole(params.actor, 'admin');
  const before = await ownDepartment(deps, agencyId, params.departmentId);
  const input = parse(departmentSchema.partial(), params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.update(departments).set({ ...input, updatedAt: now }).where(eq(departments.id, before.id)).returning();
    await recordAudit(tx, params.actor, { action: 'department.updated', targetType: 'department', targetId: before.id, data: { before: { name: before.name, creditsPerRequest: before.creditsPerRequest }, after: input } }, now);
    return row!;
  });
}

/** Archived, not deleted: ledger entries keep pointing at it; usage in it is refused from now on. */
export async function archiveDepartment(deps: Deps, params: { actor: Actor; departmentId: string }): Promise<void> {
  const agencyId = agencyIdOf(params.actor);
  requireRole(params.actor, 'admin');
  const dep = await ownDepartment(deps, agencyId, params.departmentId);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(departments).set({ archivedAt: now, updatedAt: now }).where(eq(departments.id, dep.id));
    await tx.delete(subAccountDepartments).where(eq(subAccountDepartments.departmentId, dep.id));
    await recordAudit(tx, params.actor, { action: 'department.archived', targetType: 'department', targetId: dep.id }, now);
  });
}

export const enabledDepartmentsSchema = z.object({
  departmentIds: z.array(opaqueId, { error: 'departmentIds must be a list of department ids.' }).max(500),
});

/** Replaces the set of departments enabled on a sub-account. Every id must be the agency's own. */
export async function setSubAccountDepartments(deps: Deps, params: { actor: Actor; subAccountId: string; input: unknown }): Promise<string[]> {
  const agencyId = agencyIdOf(params.actor);
  requireRole(params.actor, 'admin');
  const sub = await getSubAccount(deps, { actor: params.actor, subAccountId: params.subAccountId });
  const ids = [...new Set(parse(enabledDepartmentsSchema, params.input).departmentIds)];
  const own = ids.length
    ? await deps.db.select({ id: departments.id }).from(departments).where(and(eq(departments.agencyId, agencyId), inArray(departments.id, ids), isNull(departments.archivedAt)))
    : [];
  const unknown = ids.filter((id) => !own.some((d) => d.id === id));
  if (unknown.length) throw new ValidationError({ departmentIds: msg('errors:departments.unknown', { ids: unknown.join(', ') }) });
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.delete(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, sub.id));
    if (ids.length) await tx.insert(subAccountDepartments).values(ids.map((departmentId) => ({ agencyId, subAccountId: sub.id, departmentId, createdAt: now })));
    await recordAudit(tx, params.actor, { action: 'sub_account.departments_set', targetType: 'sub_account', targetId: sub.id, subAccountId: sub.id, data: { departmentIds: ids } }, now);
  });
  return ids.sort();
}

export async function enabledDepartmentIds(deps: Pick<Deps, 'db'>, subAccountId: string): Promise<string[]> {
  const rows = await deps.db.select({ id: subAccountDepartments.departmentId }).from(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, subAccountId));
  return rows.map((r) => r.id).sort();
}
