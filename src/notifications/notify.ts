import { and, eq, inArray, isNull, or } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { memberships, notificationInbox, notifications, pushMessages, pushSubscriptions, users, type NotificationCategory } from '../../db/schema';
import { newId } from '../lib/ids';
import type { MailMessage } from '../mail/mailer';
import { queueEmail } from '../mail/outbox';
import { preferencesOf } from './preferences';

/** An account a notice is about: an agency (subAccountId null), one of its sub-accounts, or the platform (both null). */
export interface NoticeAccount {
  agencyId: string | null;
  subAccountId: string | null;
}

export interface Notice {
  category: NotificationCategory;
  /** What happened (low_balance, auto_billing_charged, invoice_issued...): the centre's title is `notifications:kind.<kind>`. */
  kind: string;
  /** The account it is about: its owners and people with the billing permission read it in the app and on their phones. */
  account?: NoticeAccount;
  /** A notice for this person alone (team and security: their email, their password), instead of an account's people. */
  userId?: string;
  at: Date;
  /** The in-app notice: its text as stored until now, and the parameters of its catalog text. Absent: email only. */
  inApp?: { message: string; data?: Record<string, unknown> };
  /** The email, queued in the caller's transaction (dispatch its id after commit, as with queueEmail). */
  email?: { idempotencyKey: string; message: MailMessage };
  /**
   * Sent by email whatever the matrix says: invoices and suspension notices (the law and the money
   * need them, DESIGN section 11), and links a person has to receive to act (an invitation, an
   * email-change confirmation).
   */
  alwaysEmail?: boolean;
}

/**
 * The one place Kontor tells people something (DESIGN section 11). In the caller's transaction:
 * - the notice is recorded (for its account, as before) and put in the notification centre of each
 *   of its people who has in-app on for its category;
 * - one push message per subscribed device of each of them with push on (sent by the push.send job);
 * - the email is queued without the addresses of people who turned email off for the category
 *   (an address that is nobody's account, such as a shared billing mailbox, was chosen by the
 *   account for this mail and keeps it), unless the notice must always go by email.
 * Returns the queued email's id, or null: the caller dispatches it after commit.
 */
export async function notify(tx: DbOrTx, n: Notice): Promise<string | null> {
  const readers = n.inApp ? await readersOf(tx, n) : [];
  const addressees = n.email && !n.alwaysEmail ? await usersByEmail(tx, [...n.email.message.to, ...(n.email.message.cc ?? [])]) : [];
  const prefs = await preferencesOf(tx, [...readers, ...addressees.map((u) => u.id)]);
  const wants = (userId: string, channel: 'email' | 'in_app' | 'push') => prefs.get(userId)?.[n.category][channel] ?? true;

  if (n.inApp) {
    const id = newId('ntf');
    await tx.insert(notifications).values({
      id, agencyId: n.account?.agencyId ?? null, subAccountId: n.account?.subAccountId ?? null, userId: n.userId ?? null,
      category: n.category, kind: n.kind, message: n.inApp.message, data: n.inApp.data ?? {}, createdAt: n.at,
    });
    const inbox = readers.filter((u) => wants(u, 'in_app'));
    if (inbox.length) await tx.insert(notificationInbox).values(inbox.map((userId) => ({ notificationId: id, userId, createdAt: n.at }))).onConflictDoNothing();
    const pushTo = readers.filter((u) => wants(u, 'push'));
    if (pushTo.length) {
      const devices = await tx.select({ id: pushSubscriptions.id, userId: pushSubscriptions.userId }).from(pushSubscriptions).where(inArray(pushSubscriptions.userId, pushTo));
      if (devices.length) {
        await tx.insert(pushMessages).values(devices.map((d) => ({ id: newId('psh'), notificationId: id, subscriptionId: d.id, userId: d.userId, createdAt: n.at }))).onConflictDoNothing();
      }
    }
  }

  if (!n.email) return null;
  const off = new Set(addressees.filter((u) => !wants(u.id, 'email')).map((u) => u.email));
  const keep = (list: string[] | undefined) => (list ?? []).filter((a) => !off.has(a.trim().toLowerCase()));
  let to = keep(n.email.message.to);
  let cc = keep(n.email.message.cc);
  // Whoever is left on copy becomes the addressee when every addressee turned this mail off.
  if (to.length === 0) [to, cc] = [cc, []];
  if (to.length === 0) return null;
  return queueEmail(tx, {
    idempotencyKey: n.email.idempotencyKey,
    agencyId: n.account?.agencyId ?? null,
    subAccountId: n.account?.subAccountId ?? null,
    at: n.at,
    message: { ...n.email.message, to, cc },
  });
}

/** Who reads a notice in the app: the one person it is for, else the account's people who handle its money (its owners and whoever holds the billing permission). */
async function readersOf(tx: DbOrTx, n: Notice): Promise<string[]> {
  if (n.userId) return [n.userId];
  if (!n.account) return [];
  const { agencyId, subAccountId } = n.account;
  const rows = await tx
    .selectDistinct({ userId: memberships.userId })
    .from(memberships)
    .where(and(
      !agencyId ? eq(memberships.scope, 'platform')
        : subAccountId ? and(eq(memberships.scope, 'sub_account'), eq(memberships.agencyId, agencyId), eq(memberships.subAccountId, subAccountId))
          : and(eq(memberships.scope, 'agency'), eq(memberships.agencyId, agencyId), isNull(memberships.subAccountId)),
      or(eq(memberships.billing, true), eq(memberships.role, 'owner')),
    ));
  return rows.map((r) => r.userId);
}

async function usersByEmail(tx: DbOrTx, addresses: string[]): Promise<{ id: string; email: string }[]> {
  const list = [...new Set(addresses.map((a) => a.trim().toLowerCase()).filter(Boolean))];
  if (list.length === 0) return [];
  return tx.select({ id: users.id, email: users.email }).from(users).where(inArray(users.email, list));
}
