// Chatbot sessions counted against the monthly quota (DESIGN section 6; issue #20 item 9). The
// chat product opens a session through the API before its chatbot answers a visitor; past the
// quota plus the extra sessions bought for the month, it is refused with a stable code.
//
// The quota period (docs/decisions.md, "Chatbot sessions"): the calendar month in the seller's
// zone; while a term package is in effect, its quota month (from one monthly anniversary of its
// start to the next). The limit is what the account holds at the moment a session opens:
// included sessions of the packages in effect plus the unexpired extra sessions.
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { agencies, chatbotSessionCounts, chatbotSessions, subAccounts } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { buyerAccount, type BillingAccount } from '../billing/accounts';
import { currentEntitlements } from '../billing/subscriptions.usecases';
import type { Deps } from '../deps';
import { AppError } from '../lib/errors';
import { parse } from '../lib/validation';
import { msg } from '../lib/message';

export const openSessionSchema = z.object({
  sessionId: z.string({ error: 'sessionId must be a string.' }).min(1, 'sessionId must not be empty.').max(200, 'sessionId is too long (200 characters at most).'),
});

export interface SessionQuota {
  /** First and last day of the quota period (seller's calendar). */
  periodStart: string;
  periodEnd: string;
  used: number;
  limit: number;
  included: number;
  extra: number;
}

export interface OpenedSession extends SessionQuota {
  sessionId: string;
  /** false: this session id was already open in the account (counted once). */
  created: boolean;
}

async function quotaOf(deps: Pick<Deps, 'db' | 'clock'>, account: BillingAccount): Promise<Omit<SessionQuota, 'used'>> {
  const e = await currentEntitlements(deps, account);
  const term = e.termQuotas[0];
  const periodStart = term ? term.from : `${e.day.slice(0, 7)}-01`;
  const periodEnd = term ? term.until : lastDayOfMonth(e.day);
  return { periodStart, periodEnd, limit: e.chatbotSessions + e.extraSessions, included: e.chatbotSessions, extra: e.extraSessions };
}

function lastDayOfMonth(day: string): string {
  const [y, m] = day.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return `${day.slice(0, 7)}-${String(last).padStart(2, '0')}`;
}

async function usedIn(db: Deps['db'], accountId: string, periodStart: string): Promise<number> {
  const [row] = await db.select({ used: chatbotSessionCounts.used }).from(chatbotSessionCounts).where(and(eq(chatbotSessionCounts.accountId, accountId), eq(chatbotSessionCounts.periodStart, periodStart)));
  return row?.used ?? 0;
}

async function assertServing(db: Deps['db'], account: BillingAccount): Promise<void> {
  const [agency] = await db.select({ status: agencies.status }).from(agencies).where(eq(agencies.id, account.agencyId));
  if (account.subAccountId) {
    const [sub] = await db.select({ status: subAccounts.status }).from(subAccounts).where(eq(subAccounts.id, account.subAccountId));
    if (sub?.status === 'suspended') throw new AppError('account_suspended', 403, 'This account is suspended.');
    if (agency?.status === 'suspended') throw new AppError('provider_suspended', 403, 'The agency providing this account is suspended.');
  } else if (agency?.status === 'suspended') {
    throw new AppError('account_suspended', 403, 'This account is suspended.');
  }
}

/** The caller's quota now: period, used, limit. */
export async function chatbotSessionQuota(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor }): Promise<SessionQuota> {
  const account = await buyerAccount(deps.db, params.actor);
  const q = await quotaOf(deps, account);
  return { ...q, used: await usedIn(deps.db, account.buyerId, q.periodStart) };
}

/**
 * Opens (counts) one chatbot session. Idempotent by session id; two opens at once never pass
 * the limit: the count row is incremented only while under it, in the same transaction as the
 * session row, so a refusal leaves nothing behind.
 */
export async function openChatbotSession(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<OpenedSession> {
  const { sessionId } = parse(openSessionSchema, params.input);
  const account = await buyerAccount(deps.db, params.actor);
  await assertServing(deps.db, account);
  const q = await quotaOf(deps, account);
  const now = deps.clock.now();
  // A refusal is thrown inside the transaction: the session row is rolled back with it.
  const created = await deps.db.transaction(async (tx) => {
    const inserted = await tx.insert(chatbotSessions)
      .values({ agencyId: account.agencyId, subAccountId: account.subAccountId, accountId: account.buyerId, sessionId, periodStart: q.periodStart, createdAt: now })
      .onConflictDoNothing()
      .returning({ sessionId: chatbotSessions.sessionId });
    if (inserted.length === 0) return false;
    if (q.limit <= 0) throw exhausted(q);
    const counted = await tx.insert(chatbotSessionCounts)
      .values({ agencyId: account.agencyId, accountId: account.buyerId, periodStart: q.periodStart, used: 1 })
      .onConflictDoUpdate({
        target: [chatbotSessionCounts.accountId, chatbotSessionCounts.periodStart],
        set: { used: sql`${chatbotSessionCounts.used} + 1` },
        setWhere: sql`${chatbotSessionCounts.used} < ${q.limit}`,
      })
      .returning({ used: chatbotSessionCounts.used });
    if (counted.length === 0) throw exhausted(q);
    return true;
  });
  return { sessionId, created, ...q, used: await usedIn(deps.db, account.buyerId, q.periodStart) };
}
const exhausted = (q: Omit<SessionQuota, 'used'>) =>
  new AppError('chatbot_sessions_exhausted', 402,
    q.limit === 0
      ? 'This account has no chatbot sessions: add a chatbot package first.'
      : msg('errors:sessions.exhausted', { count: q.limit, from: q.periodStart, to: q.periodEnd }),
    { limit: q.limit, periodStart: q.periodStart, periodEnd: q.periodEnd });
