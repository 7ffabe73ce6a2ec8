import { and, asc, eq, gt, isNull, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { agencies, emailChanges, memberships, users } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { isLang, tFor, type Lang } from '../i18n/i18n';
import { AppError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { verifyPassword } from '../lib/password';
import { randomToken, sha256 } from '../lib/tokens';
import { parse } from '../lib/validation';
import { dispatchEmails } from '../mail/outbox';
import { notify, type NoticeAccount } from '../notifications/notify';

/** How long an email-change link works. */
export const EMAIL_CHANGE_HOURS = 24;

const selfActor = (userId: string): Actor => ({ kind: 'user', id: userId, scope: 'platform', agencyId: null, subAccountId: null, role: 'member', billing: false });

export const profileSchema = z.object({
  name: z.string({ error: 'profile:error.nameRequired' }).trim().min(1, 'profile:error.nameRequired').max(200, 'profile:error.nameTooLong'),
  // "" is the agency's language (null): the person has not chosen one.
  locale: z.preprocess((v) => (v === '' || v === undefined ? null : v), z.enum(['en', 'tr'], { error: 'profile:error.language' }).nullable()),
});

/** Name and language of the signed-in person. */
export async function updateProfile(deps: Pick<Deps, 'db' | 'clock'>, params: { userId: string; input: unknown }): Promise<void> {
  const input = parse(profileSchema, params.input);
  await deps.db.update(users).set({ name: input.name, locale: input.locale, updatedAt: deps.clock.now() }).where(eq(users.id, params.userId));
}

/**
 * How mail to this person is written and signed: in their language (their choice, else their
 * first agency's, else English), and, for a client's person, under its agency's name (white label).
 */
export async function mailContextOf(db: DbOrTx, userId: string): Promise<{ lang: Lang; account: NoticeAccount | undefined }> {
  const [row] = await db
    .select({ locale: users.locale, agencyLocale: agencies.locale, agencyId: memberships.agencyId, subAccountId: memberships.subAccountId })
    .from(users)
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .leftJoin(agencies, eq(agencies.id, memberships.agencyId))
    .where(eq(users.id, userId))
    .orderBy(asc(memberships.createdAt))
    .limit(1);
  const lang = isLang(row?.locale) ? row.locale : isLang(row?.agencyLocale) ? row.agencyLocale : 'en';
  return { lang, account: row?.agencyId ? { agencyId: row.agencyId, subAccountId: row.subAccountId } : undefined };
}

const emailChangeSchema = z.object({
  newEmail: z.string({ error: 'profile:error.emailRequired' }).trim().min(1, 'profile:error.emailRequired').max(254, 'profile:error.emailInvalid')
    .pipe(z.email('profile:error.emailInvalid')).transform((v) => v.toLowerCase()),
  password: z.string({ error: 'profile:error.passwordRequired' }).min(1, 'profile:error.passwordRequired'),
});

/**
 * Starts an email change: the person proves it is them (current password), and a link goes to the
 * new address. Until the link is followed the email stays as it is; a newer request replaces an
 * older one. Returns the link (tests; the page says only that it was sent).
 */
export async function requestEmailChange(deps: Deps, params: { userId: string; input: unknown }): Promise<{ confirmUrl: string; newEmail: string }> {
  const input = parse(emailChangeSchema, params.input);
  const [user] = await deps.db.select().from(users).where(eq(users.id, params.userId));
  if (!user) throw new AppError('unauthenticated', 401, 'profile:error.signIn');
  if (!(await verifyPassword(input.password, user.passwordHash))) throw new ValidationError({ password: 'profile:error.passwordWrong' });
  if (input.newEmail === user.email) throw new ValidationError({ newEmail: 'profile:error.emailSame' });
  const [taken] = await deps.db.select({ id: users.id }).from(users).where(eq(users.email, input.newEmail));
  if (taken) throw new ValidationError({ newEmail: 'profile:error.emailTaken' });

  const token = randomToken();
  const now = deps.clock.now();
  const confirmUrl = `${deps.config.publicUrl}/profile/email/${token}`;
  const person = await mailContextOf(deps.db, user.id);
  const t = tFor(person.lang);
  const mailId = await deps.db.transaction(async (tx) => {
    // One open request per person: the older link stops working.
    await tx.update(emailChanges).set({ usedAt: now }).where(and(eq(emailChanges.userId, user.id), isNull(emailChanges.usedAt)));
    const id = newId('emc');
    await tx.insert(emailChanges).values({ id, userId: user.id, newEmail: input.newEmail, tokenHash: sha256(token), expiresAt: new Date(now.getTime() + EMAIL_CHANGE_HOURS * 3_600_000), createdAt: now });
    await recordAudit(tx, selfActor(user.id), { action: 'user.email_change_requested', targetType: 'user', targetId: user.id, agencyId: null, subAccountId: null, data: { newEmail: input.newEmail } }, now);
    // The link is the message: it goes to the new address whatever the notification choices.
    return notify(tx, {
      category: 'team', kind: 'email_change', alwaysEmail: true, userId: user.id, account: person.account, at: now,
      email: { idempotencyKey: `email-change:${id}`, message: {
        to: [input.newEmail],
        subject: t('profile:mail.confirm.subject'),
        text: t('profile:mail.confirm.body', { name: user.name, email: input.newEmail, url: confirmUrl, hours: EMAIL_CHANGE_HOURS }),
      } },
    });
  });
  await dispatchEmails(deps.queue, [mailId]);
  return { confirmUrl, newEmail: input.newEmail };
}

/** The change a link names, if it may still be used (not used, not expired). */
export async function findEmailChange(deps: Pick<Deps, 'db' | 'clock'>, token: string) {
  const [row] = await deps.db.select().from(emailChanges).where(and(eq(emailChanges.tokenHash, sha256(token)), isNull(emailChanges.usedAt), gt(emailChanges.expiresAt, deps.clock.now())));
  if (!row) throw new AppError('email_change_invalid', 404, 'profile:error.linkInvalid');
  return row;
}

/**
 * Follows the link: the email becomes the new address, once (the request is claimed with a
 * guard, so a second click or a replay changes nothing). The old address is told, whatever the
 * notification choices: if someone else made the change, its owner learns of it there.
 */
export async function confirmEmailChange(deps: Deps, token: string): Promise<{ userId: string; email: string }> {
  const change = await findEmailChange(deps, token);
  const now = deps.clock.now();
  const out = await deps.db.transaction(async (tx) => {
    const claimed = await tx.update(emailChanges).set({ usedAt: now })
      .where(and(eq(emailChanges.id, change.id), isNull(emailChanges.usedAt), gt(emailChanges.expiresAt, now))).returning({ id: emailChanges.id });
    if (claimed.length === 0) throw new AppError('email_change_invalid', 404, 'profile:error.linkInvalid');
    const [user] = await tx.select().from(users).where(eq(users.id, change.userId));
    if (!user) throw new AppError('email_change_invalid', 404, 'profile:error.linkInvalid');
    const [taken] = await tx.select({ id: users.id }).from(users).where(and(eq(users.email, change.newEmail), ne(users.id, user.id)));
    if (taken) throw new AppError('email_taken', 409, 'profile:error.emailTaken');
    await tx.update(users).set({ email: change.newEmail, updatedAt: now }).where(eq(users.id, user.id));
    await recordAudit(tx, selfActor(user.id), { action: 'user.email_changed', targetType: 'user', targetId: user.id, agencyId: null, subAccountId: null, data: { from: user.email, to: change.newEmail } }, now);
    const person = await mailContextOf(tx, user.id);
    const t = tFor(person.lang);
    const mailId = await notify(tx, {
      category: 'team', kind: 'email_changed', alwaysEmail: true, userId: user.id, account: person.account, at: now,
      inApp: { message: change.newEmail, data: { newEmail: change.newEmail } },
      email: { idempotencyKey: `email-changed:${change.id}`, message: {
        to: [user.email],
        subject: t('profile:mail.changed.subject'),
        text: t('profile:mail.changed.body', { name: user.name, email: change.newEmail }),
      } },
    });
    return { mailId, userId: user.id };
  });
  await dispatchEmails(deps.queue, [out.mailId]);
  return { userId: out.userId, email: change.newEmail };
}

/** After a password change: a security notice to the person (in the app, and by email unless they turned team notices off). */
export async function notifyPasswordChanged(deps: Deps, userId: string): Promise<void> {
  const [user] = await deps.db.select().from(users).where(eq(users.id, userId));
  if (!user) return;
  const now = deps.clock.now();
  const person = await mailContextOf(deps.db, user.id);
  const t = tFor(person.lang);
  const mailId = await deps.db.transaction((tx) => notify(tx, {
    category: 'team', kind: 'password_changed', userId: user.id, account: person.account, at: now,
    inApp: { message: t('notifications:body.password_changed') },
    email: { idempotencyKey: `password-changed:${user.id}:${now.toISOString()}`, message: {
      to: [user.email],
      subject: t('profile:mail.password.subject'),
      text: t('profile:mail.password.body', { name: user.name }),
    } },
  }));
  await dispatchEmails(deps.queue, [mailId]);
}
