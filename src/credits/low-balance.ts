import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../../db/client';
import { agencies, memberships, subAccounts, users } from '../../db/schema';
import { newId } from '../lib/ids';
import { msg } from '../lib/message';
import { mailLanguage, mailWriter, type MailWriter } from '../mail/language';
import { notify } from '../notifications/notify';
import { emitEvent } from '../webhooks/emit';

export interface LowBalanceState {
  id: string;
  agencyId: string;
  subAccountId: string | null;
  balance: number;
  threshold: number | null;
  notified: boolean;
}

/**
 * One email and one in-app notice per downward crossing of the threshold; the rule re-arms when
 * the balance is back at or above it. Returns the queued email's id (dispatch after commit).
 */
export async function applyLowBalanceRule(tx: Tx, a: LowBalanceState, now: Date): Promise<string | null> {
  if (a.threshold === null) return null;
  if (a.balance >= a.threshold) {
    if (a.notified) await tx.execute(sql`update credit_accounts set low_balance_notified = false where id = ${a.id}`);
    return null;
  }
  if (a.notified) return null;
  await tx.execute(sql`update credit_accounts set low_balance_notified = true where id = ${a.id}`);
  await emitEvent(tx, { type: 'credits.low', at: now, data: { account: { agencyId: a.agencyId, subAccountId: a.subAccountId }, balance: a.balance, threshold: a.threshold } });
  const noticeId = newId('ntf');
  // The in-app notice is read later in its reader's language: it is stored as a message.
  const message = msg('email:notice.lowBalance', { balance: a.balance, threshold: a.threshold });
  const recipients = await accountRecipients(tx, a.agencyId, a.subAccountId);
  const { to, cc } = recipients;
  const w = mailWriter(await mailLanguage(tx, a.agencyId, to));
  return notify(tx, {
    category: 'credits', kind: 'low_balance',
    account: { agencyId: a.agencyId, subAccountId: a.subAccountId },
    at: now,
    inApp: { message, data: { balance: a.balance, threshold: a.threshold } },
    email: { idempotencyKey: `low-balance:${noticeId}`, message: {
      to, cc,
      subject: w.t('email:lowBalance.subject', { name: accountName(w, recipients) }),
      text: w.t('email:lowBalance.body', { notice: w.text(message) }),
    } },
  });
}

/** The account's billing email (and CCs for an agency); without one, its owners. */
export async function accountRecipients(tx: DbOrTx, agencyId: string, subAccountId: string | null) {
  if (subAccountId) {
    const [sub] = await tx.select({ email: subAccounts.billingEmail, name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, subAccountId));
    const to = sub?.email ? [sub.email] : await owners(tx, agencyId, subAccountId);
    return { to, cc: [], name: sub?.name ?? null, pool: false };
  }
  const [agency] = await tx.select({ email: agencies.billingEmail, cc: agencies.ccEmails, name: agencies.name }).from(agencies).where(eq(agencies.id, agencyId));
  const to = agency?.email ? [agency.email] : await owners(tx, agencyId, null);
  return { to, cc: agency?.email ? agency.cc : [], name: agency?.name ?? null, pool: true };
}

/** The account as a mail names it: the client's name, or the agency's pool. */
export function accountName(w: MailWriter, r: { name: string | null; pool: boolean }): string {
  if (r.pool) return r.name ? w.t('email:account.pool', { name: r.name }) : w.t('email:account.somePool');
  return r.name ?? w.t('email:account.someAccount');
}

async function owners(tx: DbOrTx, agencyId: string, subAccountId: string | null): Promise<string[]> {
  const rows = await tx
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.agencyId, agencyId), subAccountId ? eq(memberships.subAccountId, subAccountId) : isNull(memberships.subAccountId), eq(memberships.role, 'owner')));
  return rows.map((r) => r.email);
}
