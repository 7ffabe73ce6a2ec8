// Representatives and channel integrations an account manages, held to its entitlements
// (DESIGN section 6): adding one beyond the entitlement is refused with the exact numbers; the
// last representative (the free one every account has) cannot be removed. Each change runs under
// the account's row lock, so two concurrent adds can never both take the last place.
import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/client';
import { agencies, channelIntegrations, channelTypes, departments, representatives, subAccountDepartments, subAccounts, type ChannelType } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireRole } from '../auth/policies';
import { buyerAccount, type BillingAccount } from '../billing/accounts';
import { currentEntitlements, type CurrentEntitlements, type SubscriptionView } from '../billing/subscriptions.usecases';
import type { Deps } from '../deps';
import { AppError, errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { email, name, parse } from '../lib/validation';
import { itemOfChannel, limitLines, limitReachedMessage, overLimitGuidance, type CountedItem, type LimitLine, type Usage } from './limits';
import { msg } from '../lib/message';
import { localize, tFor } from '../i18n/i18n';

export type Representative = typeof representatives.$inferSelect;
export type ChannelIntegration = typeof channelIntegrations.$inferSelect;

const repsOf = (a: BillingAccount) => and(eq(representatives.accountId, a.buyerId), eq(representatives.agencyId, a.agencyId));
const channelsOf = (a: BillingAccount) => and(eq(channelIntegrations.accountId, a.buyerId), eq(channelIntegrations.agencyId, a.agencyId));

async function lockAccount(tx: Tx, account: BillingAccount): Promise<void> {
  if (account.subAccountId) await tx.select({ id: subAccounts.id }).from(subAccounts).where(eq(subAccounts.id, account.subAccountId)).for('update');
  else await tx.select({ id: agencies.id }).from(agencies).where(eq(agencies.id, account.agencyId)).for('update');
}

/** How many representatives and channels of each type the account has. */
export async function usageOf(db: Deps['db'] | Tx, account: BillingAccount): Promise<Usage> {
  const [reps] = await db.select({ n: count() }).from(representatives).where(repsOf(account));
  const chans = await db.select({ type: channelIntegrations.type, n: count() }).from(channelIntegrations).where(channelsOf(account)).groupBy(channelIntegrations.type);
  const by = (t: ChannelType) => Number(chans.find((c) => c.type === t)?.n ?? 0);
  return { representatives: Number(reps?.n ?? 0), whatsappChannels: by('whatsapp'), instagramChannels: by('instagram'), messengerChannels: by('messenger') };
}

export interface EntitlementStatus extends CurrentEntitlements {
  limits: LimitLine[];
  /** The limits the account is over, each with what to do. Empty when within every limit. */
  /** guidance: text in the buyer's agency's language (pages); guidanceMessage: the message, read in another reader's language (the API). */
  overLimits: (LimitLine & { guidance: string; guidanceMessage: string })[];
  /** Chatbots: a sub-account's allocation from its agency, an agency's slots from the platform. */
  chatbots: { limit: number; used: number | null };
  /** Departments the account may use (an agency's own; a sub-account's enabled ones). Not capped by packages. */
  departments: { used: number; limit: null };
}

/** What the account may use now, what it uses, and where it is over. */
/** `subscriptions`: the account's subscriptions (accountSubscriptions) when the caller reads them anyway. */
export async function entitlementStatus(deps: Pick<Deps, 'db' | 'clock'>, account: BillingAccount, subscriptions?: Promise<SubscriptionView[]>): Promise<EntitlementStatus> {
  const [e, used] = await Promise.all([currentEntitlements(deps, account, subscriptions), usageOf(deps.db, account)]);
  const limits = limitLines(e, used);
  let chatbots: EntitlementStatus['chatbots'];
  let depts: number;
  if (account.subAccountId) {
    const [sub] = await deps.db.select({ chatbots: subAccounts.chatbots }).from(subAccounts).where(eq(subAccounts.id, account.subAccountId));
    chatbots = { limit: sub?.chatbots ?? 0, used: null };
    const [d] = await deps.db.select({ n: count() }).from(subAccountDepartments).where(eq(subAccountDepartments.subAccountId, account.subAccountId));
    depts = Number(d?.n ?? 0);
  } else {
    const [a] = await deps.db.select({ slots: agencies.chatbotSlots }).from(agencies).where(eq(agencies.id, account.agencyId));
    const [alloc] = await deps.db.select({ n: sql<number>`coalesce(sum(${subAccounts.chatbots}), 0)::int` }).from(subAccounts).where(eq(subAccounts.agencyId, account.agencyId));
    chatbots = { limit: a?.slots ?? 0, used: Number(alloc?.n ?? 0) };
    const [d] = await deps.db.select({ n: count() }).from(departments).where(and(eq(departments.agencyId, account.agencyId), isNull(departments.archivedAt)));
    depts = Number(d?.n ?? 0);
  }
  return {
    ...e, limits, overLimits: limits.filter((l) => l.over > 0).map((l) => ({ ...l, guidance: localize(tFor(account.locale), overLimitGuidance(l)), guidanceMessage: overLimitGuidance(l) })), chatbots, departments: { used: depts, limit: null },
  };
}

export async function myEntitlementStatus(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor }): Promise<EntitlementStatus> {
  return entitlementStatus(deps, await buyerAccount(deps.db, params.actor));
}

/** Refuses one more `item` when the account is at (or over) its entitlement, inside the lock. */
async function checkRoom(tx: Tx, deps: Pick<Deps, 'clock'>, account: BillingAccount, item: CountedItem): Promise<void> {
  const [e, used] = await Promise.all([currentEntitlements({ db: tx, clock: deps.clock }, account), usageOf(tx, account)]);
  if (used[item] >= e[item]) throw new AppError('limit_reached', 409, limitReachedMessage(item, e[item], used[item]), { item, limit: e[item], used: used[item] });
}

// ---- representatives ----

export const representativeSchema = z.object({ name: name('Name'), email });

export async function listRepresentatives(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<Representative[]> {
  const account = await buyerAccount(deps.db, params.actor);
  return deps.db.select().from(representatives).where(repsOf(account)).orderBy(asc(representatives.createdAt), asc(representatives.id));
}

export async function addRepresentative(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<Representative> {
  requireRole(params.actor, 'admin');
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(representativeSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await lockAccount(tx, account);
    await checkRoom(tx, deps, account, 'representatives');
    const [dup] = await tx.select({ id: representatives.id }).from(representatives).where(and(repsOf(account), eq(representatives.email, input.email)));
    if (dup) throw new AppError('already_exists', 409, msg('errors:representative.exists', { email: input.email }), { fields: { email: 'Already a representative.' } });
    const [row] = await tx.insert(representatives).values({ id: newId('rep'), agencyId: account.agencyId, subAccountId: account.subAccountId, accountId: account.buyerId, ...input, createdAt: now }).returning();
    await recordAudit(tx, params.actor, { action: 'representative.added', targetType: 'representative', targetId: row!.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: input }, now);
    return row!;
  });
}

export async function removeRepresentative(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; representativeId: string }): Promise<Representative> {
  requireRole(params.actor, 'admin');
  const account = await buyerAccount(deps.db, params.actor);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await lockAccount(tx, account);
    const [row] = await tx.select().from(representatives).where(and(repsOf(account), eq(representatives.id, params.representativeId)));
    if (!row) throw errors.notFound('Representative');
    const used = await usageOf(tx, account);
    if (used.representatives <= 1) throw new AppError('last_representative', 409, 'This is your last representative (the free one every account keeps): add another before removing this one.');
    await tx.delete(representatives).where(eq(representatives.id, row.id));
    await recordAudit(tx, params.actor, { action: 'representative.removed', targetType: 'representative', targetId: row.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { name: row.name, email: row.email } }, now);
    return row;
  });
}

// ---- channels ----

export const channelSchema = z.object({
  type: z.enum(channelTypes),
  name: name('Name'),
});

export async function listChannels(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<ChannelIntegration[]> {
  const account = await buyerAccount(deps.db, params.actor);
  return deps.db.select().from(channelIntegrations).where(channelsOf(account)).orderBy(asc(channelIntegrations.type), asc(channelIntegrations.createdAt), asc(channelIntegrations.id));
}

export async function addChannel(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<ChannelIntegration> {
  requireRole(params.actor, 'admin');
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(channelSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await lockAccount(tx, account);
    await checkRoom(tx, deps, account, itemOfChannel[input.type]);
    const [dup] = await tx.select({ id: channelIntegrations.id }).from(channelIntegrations).where(and(channelsOf(account), eq(channelIntegrations.type, input.type), eq(channelIntegrations.name, input.name)));
    if (dup) throw new AppError('already_exists', 409, msg('errors:channel.exists', { name: input.name }), { fields: { name: 'Already integrated.' } });
    const [row] = await tx.insert(channelIntegrations).values({ id: newId('chn'), agencyId: account.agencyId, subAccountId: account.subAccountId, accountId: account.buyerId, ...input, createdAt: now }).returning();
    await recordAudit(tx, params.actor, { action: 'channel.added', targetType: 'channel_integration', targetId: row!.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: input }, now);
    return row!;
  });
}

export async function removeChannel(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; channelId: string }): Promise<ChannelIntegration> {
  requireRole(params.actor, 'admin');
  const account = await buyerAccount(deps.db, params.actor);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(channelIntegrations).where(and(channelsOf(account), eq(channelIntegrations.id, params.channelId)));
    if (!row) throw errors.notFound('Channel');
    await tx.delete(channelIntegrations).where(eq(channelIntegrations.id, row.id));
    await recordAudit(tx, params.actor, { action: 'channel.removed', targetType: 'channel_integration', targetId: row.id, agencyId: account.agencyId, subAccountId: account.subAccountId, data: { type: row.type, name: row.name } }, now);
    return row;
  });
}
