// Who may read which report, and the filters of a request (DESIGN section 11). A report is
// always scoped by the caller's tenant: an agency reads its clients' and its own figures, a
// client its own, the platform its sales by agency. Ids from the query string are checked
// against that tenant, never trusted; days are calendar days of the seller's time zone.
import { and, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { departments, subAccountDepartments, subAccounts } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import { sellerTerms } from '../billing/accounts';
import type { Deps } from '../deps';
import { AppError, ValidationError } from '../lib/errors';

export interface ReportScope {
  /** The agency whose figures are read; null: the platform (sales by agency only). */
  agencyId: string | null;
  /** A client reads its own account only: set for sub-account callers, whatever the query says. */
  ownSubAccountId: string | null;
  /** The seller's time zone: days and months are its calendar's. */
  zone: string;
}

/** The account filter: a sub-account, the agency's own pool ('pool'), or every account (null). */
export type AccountFilter = { kind: 'all' } | { kind: 'pool' } | { kind: 'sub'; subAccountId: string };

export interface ReportFilters {
  from: string;
  to: string;
  departmentId: string | null;
  account: AccountFilter;
}

/** The longest range one request may ask for (a year and a day: a leap year's whole). */
export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;

const dayString = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine((s) => DateTime.fromISO(s, { zone: 'UTC' }).isValid);
const querySchema = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  department: z.string().max(64).optional(),
  subAccount: z.string().max(64).optional(),
});

export async function reportScope(deps: Pick<Deps, 'db'>, actor: Actor, report: 'usage' | 'credit_flow' | 'sales'): Promise<ReportScope> {
  if (actor.scope === 'platform') {
    if (report !== 'sales') throw new AppError('wrong_scope', 403, 'reports:errors.platformSalesOnly');
    requireBilling(actor);
    return { agencyId: null, ownSubAccountId: null, zone: (await sellerTerms(deps.db, null)).zone };
  }
  if (report === 'sales') {
    if (actor.scope !== 'agency') throw new AppError('wrong_scope', 403, 'reports:errors.salesSellersOnly');
    requireBilling(actor);
  }
  const agencyId = actor.agencyId!;
  return { agencyId, ownSubAccountId: actor.scope === 'sub_account' ? actor.subAccountId! : null, zone: (await sellerTerms(deps.db, agencyId)).zone };
}

/** Today in the scope's zone (the default end of a range). */
export const todayIn = (zone: string, now: Date): string => DateTime.fromJSDate(now).setZone(zone).toISODate()!;

/** Parses and checks the query: the range, and a department and an account of the caller's tenant. */
export async function parseFilters(deps: Pick<Deps, 'db' | 'clock'>, scope: ReportScope, query: unknown): Promise<ReportFilters> {
  const q = querySchema.safeParse(query ?? {});
  const raw = q.success ? q.data : {};
  const fields: Record<string, string> = {};
  const today = todayIn(scope.zone, deps.clock.now());
  const blank = (v: string | undefined) => (v ?? '').trim() === '';
  const to = blank(raw.to) ? today : raw.to!.trim();
  const from = blank(raw.from) ? DateTime.fromISO(to, { zone: 'UTC' }).minus({ days: DEFAULT_RANGE_DAYS - 1 }).toISODate() ?? today : raw.from!.trim();
  if (!dayString.safeParse(from).success) fields.from = 'reports:errors.badDay';
  if (!dayString.safeParse(to).success) fields.to = 'reports:errors.badDay';
  if (!fields.from && !fields.to) {
    const days = DateTime.fromISO(to, { zone: 'UTC' }).diff(DateTime.fromISO(from, { zone: 'UTC' }), 'days').days + 1;
    if (days < 1) fields.to = 'reports:errors.endBeforeStart';
    else if (days > MAX_RANGE_DAYS) fields.from = 'reports:errors.rangeTooLong';
  }

  let departmentId: string | null = null;
  if (!blank(raw.department) && scope.agencyId) {
    const [d] = await deps.db.select({ id: departments.id }).from(departments)
      .where(and(eq(departments.id, raw.department!.trim()), eq(departments.agencyId, scope.agencyId)));
    if (d) departmentId = d.id;
    else fields.department = 'reports:errors.unknownDepartment';
  }

  let account: AccountFilter = { kind: 'all' };
  if (scope.ownSubAccountId) account = { kind: 'sub', subAccountId: scope.ownSubAccountId };
  else if (!blank(raw.subAccount) && scope.agencyId) {
    const id = raw.subAccount!.trim();
    if (id === 'pool') account = { kind: 'pool' };
    else {
      const [s] = await deps.db.select({ id: subAccounts.id }).from(subAccounts).where(and(eq(subAccounts.id, id), eq(subAccounts.agencyId, scope.agencyId)));
      if (s) account = { kind: 'sub', subAccountId: s.id };
      else fields.subAccount = 'reports:errors.unknownSubAccount';
    }
  }
  if (Object.keys(fields).length > 0) throw new ValidationError(fields, 'reports:errors.badFilters');
  return { from, to, departmentId, account };
}

/** The filters as a query string (links between reports, the CSV link). */
export function filterQuery(f: ReportFilters, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams({ from: f.from, to: f.to });
  if (f.departmentId) p.set('department', f.departmentId);
  if (f.account.kind === 'pool') p.set('subAccount', 'pool');
  if (f.account.kind === 'sub') p.set('subAccount', f.account.subAccountId);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

/** Every day of the range, in order (YYYY-MM-DD). */
export function daysOf(f: Pick<ReportFilters, 'from' | 'to'>): string[] {
  const out: string[] = [];
  for (let d = DateTime.fromISO(f.from, { zone: 'UTC' }); d.toISODate()! <= f.to; d = d.plus({ days: 1 })) out.push(d.toISODate()!);
  return out;
}

/** The sub-accounts and departments a filter form offers (the scope's own only). */
export async function filterChoices(deps: Pick<Deps, 'db'>, scope: ReportScope) {
  if (!scope.agencyId) return { departments: [], subAccounts: [] };
  // A client is offered its enabled departments only; an agency all of its own.
  const depts = scope.ownSubAccountId
    ? await deps.db.select({ id: departments.id, name: departments.name }).from(departments)
      .innerJoin(subAccountDepartments, and(eq(subAccountDepartments.departmentId, departments.id), eq(subAccountDepartments.subAccountId, scope.ownSubAccountId)))
      .where(eq(departments.agencyId, scope.agencyId)).orderBy(departments.name)
    : await deps.db.select({ id: departments.id, name: departments.name }).from(departments).where(eq(departments.agencyId, scope.agencyId)).orderBy(departments.name);
  const subs = scope.ownSubAccountId
    ? []
    : await deps.db.select({ id: subAccounts.id, name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.agencyId, scope.agencyId)).orderBy(subAccounts.name).limit(2000);
  return { departments: depts, subAccounts: subs };
}
