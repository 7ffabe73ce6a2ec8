import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../../db/client';
import { agencies, invitations, memberships, platform, subAccounts, users, type PresenceStatus, type Role, type Scope } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import { roleAtLeast, type Actor } from '../auth/actor';
import { requireRole } from '../auth/policies';
import type { Deps } from '../deps';
import { AppError, errors, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { dummyHash, hashPassword, verifyPassword } from '../lib/password';
import { randomToken, sha256 } from '../lib/tokens';
import { blankToNull, checkbox, email, name, opaqueId, parse } from '../lib/validation';
import { dispatchEmails } from '../mail/outbox';
import { notify } from '../notifications/notify';
import { brandOf, type Brand } from '../branding/brand';
import { getSubAccount, type SubAccount } from '../tenancy/sub-accounts.usecases';
import { assertAcceptablePassword } from './password-policy';
import { endUserSessions } from './user-sessions';
import { mailLanguage, mailWriter } from '../mail/language';

export type User = typeof users.$inferSelect;
export type Membership = typeof memberships.$inferSelect;

export const passwordRule = z
  .string({ error: 'Password is required.' })
  .min(10, 'Use at least 10 characters.')
  .max(200, 'Use at most 200 characters.');

export const INVITATION_DAYS = 7;

/** The operator CLI's first step: a platform owner. Refuses an email that already exists. */
export async function createPlatformAdmin(deps: Deps, input: { email: string; password: string; name?: string }): Promise<User> {
  const parsed = parse(z.object({ email, password: passwordRule, name: name('Name') }), { name: 'Platform admin', ...input });
  await assertAcceptablePassword(parsed.password, parsed, 'password');
  const passwordHash = await hashPassword(parsed.password, deps.config.passwordHashCost);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, parsed.email));
    if (existing) throw errors.conflict('email_taken', 'A user with this email already exists.');
    const [user] = await tx
      .insert(users)
      .values({ id: newId('usr'), email: parsed.email, name: parsed.name, passwordHash, createdAt: now, updatedAt: now })
      .returning();
    await tx.insert(memberships).values({ id: newId('mem'), userId: user!.id, scope: 'platform', role: 'owner', billing: true, createdAt: now });
    return user!;
  });
}

/** Checks email and password. Unknown emails cost the same time as wrong passwords. */
export async function authenticate(deps: Pick<Deps, 'db' | 'config' | 'clock'>, emailInput: string, password: string): Promise<User | null> {
  const normalized = emailInput.trim().toLowerCase();
  const [user] = normalized ? await deps.db.select().from(users).where(eq(users.email, normalized)) : [];
  if (!user) {
    await verifyPassword(password, await dummyHash(deps.config.passwordHashCost));
    return null;
  }
  if (!(await verifyPassword(password, user.passwordHash))) return null;
  const [firstMembership] = await deps.db.select({ id: memberships.id }).from(memberships).where(eq(memberships.userId, user.id)).limit(1);
  if (!firstMembership) return null;
  await deps.db.update(users).set({ lastLoginAt: deps.clock.now() }).where(eq(users.id, user.id));
  return user;
}

export interface SessionPrincipal {
  user: Pick<User, 'id' | 'email' | 'name' | 'locale'>;
  actor: Actor;
  tenantName: string;
  agencyName: string | null;
  /** What this user sees as "who runs this": the agency's brand for a client, else null (the platform's). */
  brand: Brand | null;
  /** The language of the user's agency (agency staff and its clients), the default when the user chose none. */
  agencyLocale: string | null;
  /** The seller's time zone, in which this user reads dates: the agency's for agency staff and clients, else the platform's. */
  timeZone: string;
  /** Each membership with the agency and sub-account it is of (what the principal was read from: src/web/access-cache.ts). */
  memberships: { id: string; label: string; agencyId: string | null; subAccountId: string | null }[];
}

/** Resolves a session to its user and active membership (one query per request). */
export async function loadPrincipal(db: Db, userId: string, membershipId: string | undefined): Promise<SessionPrincipal | null> {
  const rows = await db
    .select({ user: users, membership: memberships, agencyName: agencies.name, subAccountName: subAccounts.name, brandDisplayName: agencies.brandDisplayName, brandLogoUrl: agencies.brandLogoUrl, brandColor: agencies.brandColor, supportEmail: agencies.supportEmail, agencyLocale: agencies.locale, agencyZone: agencies.timeZone, platformZone: sql<string | null>`(select ${platform.timeZone} from ${platform} limit 1)` })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .leftJoin(agencies, eq(agencies.id, memberships.agencyId))
    .leftJoin(subAccounts, eq(subAccounts.id, memberships.subAccountId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.createdAt), asc(memberships.id));
  if (rows.length === 0) return null;
  const active = rows.find((r) => r.membership.id === membershipId) ?? rows[0]!;
  const m = active.membership;
  const label = (r: (typeof rows)[number]) =>
    r.membership.scope === 'platform' ? 'Platform' : r.membership.scope === 'agency' ? r.agencyName! : `${r.subAccountName} (${r.brandDisplayName || r.agencyName})`;
  return {
    user: { id: active.user.id, email: active.user.email, name: active.user.name, locale: active.user.locale },
    actor: { kind: 'user', id: active.user.id, scope: m.scope, agencyId: m.agencyId, subAccountId: m.subAccountId, role: m.role, billing: m.billing, membershipId: m.id },
    tenantName: label(active),
    agencyName: active.agencyName,
    brand: m.scope === 'sub_account' && m.agencyId
      ? brandOf({ id: m.agencyId, name: active.agencyName ?? '', brandDisplayName: active.brandDisplayName, brandLogoUrl: active.brandLogoUrl, brandColor: active.brandColor, supportEmail: active.supportEmail })
      : null,
    memberships: rows.map((r) => ({ id: r.membership.id, label: label(r), agencyId: r.membership.agencyId, subAccountId: r.membership.subAccountId })),
    agencyLocale: m.scope === 'platform' ? null : active.agencyLocale,
    timeZone: (m.scope === 'platform' ? null : active.agencyZone) ?? active.platformZone ?? 'Europe/Istanbul',
  };
}

export const changePasswordSchema = z
  .object({
    currentPassword: z.string({ error: 'Enter your current password.' }).min(1, 'Enter your current password.'),
    newPassword: passwordRule,
    confirmPassword: z.string({ error: 'Confirm the new password.' }),
  })
  .refine((v) => v.newPassword === v.confirmPassword, { path: ['confirmPassword'], message: 'The two new passwords do not match.' })
  .refine((v) => v.newPassword !== v.currentPassword, { path: ['newPassword'], message: 'Choose a password different from the current one.' });

/**
 * Changes the signed-in user's password and ends every other session of theirs (another browser,
 * a lost phone): only the session the change was made in (`keepSessionId`) stays signed in.
 */
export async function changePassword(deps: Deps, params: { userId: string; keepSessionId: string; input: unknown }): Promise<void> {
  const input = parse(changePasswordSchema, params.input);
  const [user] = await deps.db.select().from(users).where(eq(users.id, params.userId));
  if (!user) throw errors.unauthenticated();
  if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
    throw new ValidationError({ currentPassword: 'The current password is not correct.' });
  }
  await assertAcceptablePassword(input.newPassword, user, 'newPassword');
  const passwordHash = await hashPassword(input.newPassword, deps.config.passwordHashCost);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, passwordChangedAt: now, updatedAt: now }).where(eq(users.id, user.id));
    const ended = await endUserSessions(tx, { userId: user.id, keepSessionId: params.keepSessionId });
    const actor: Actor = { kind: 'user', id: user.id, scope: 'platform', agencyId: null, subAccountId: null, role: 'member', billing: false };
    await recordAudit(tx, actor, { action: 'user.password_changed', targetType: 'user', targetId: user.id, agencyId: null, subAccountId: null, data: { otherSessionsEnded: ended } }, now);
  });
}

export const inviteSchema = z.object({
  email,
  role: z.enum(['owner', 'admin', 'member'], { error: 'Choose a role: owner, admin or member.' }),
  billing: checkbox,
  subAccountId: blankToNull(opaqueId),
});

export interface InvitationResult {
  invitationId: string;
  email: string;
  acceptUrl: string;
}

/**
 * Invites a user into the actor's tenant, or (agency actors) into one of its sub-accounts.
 * Nobody can grant a role above their own.
 */
export async function inviteUser(deps: Deps, params: { actor: Actor; input: unknown; agencyIdForPlatform?: string }): Promise<InvitationResult> {
  const { actor } = params;
  requireRole(actor, 'admin');
  const input = parse(inviteSchema, params.input);
  if (!roleAtLeast(actor, input.role)) throw new ValidationError({ role: 'You cannot invite someone with a role above your own.' });

  let scope: Scope;
  let agencyId: string | null = null;
  let subAccountId: string | null = null;
  let tenantName: string;
  if (actor.scope === 'platform' && params.agencyIdForPlatform) {
    const [agency] = await deps.db.select().from(agencies).where(eq(agencies.id, params.agencyIdForPlatform));
    if (!agency) throw errors.notFound('Agency');
    scope = 'agency';
    agencyId = agency.id;
    tenantName = agency.name;
  } else if (actor.scope === 'platform') {
    scope = 'platform';
    tenantName = 'the platform';
  } else if (actor.scope === 'agency' && input.subAccountId) {
    const sub = await getSubAccount(deps, { actor, subAccountId: input.subAccountId });
    scope = 'sub_account';
    agencyId = sub.agencyId;
    subAccountId = sub.id;
    tenantName = sub.name;
  } else if (input.subAccountId && input.subAccountId !== actor.subAccountId) {
    throw errors.notFound('Sub-account');
  } else {
    scope = actor.scope;
    agencyId = actor.agencyId;
    subAccountId = actor.subAccountId;
    const [row] = scope === 'agency'
      ? await deps.db.select({ name: agencies.name }).from(agencies).where(eq(agencies.id, agencyId!))
      : await deps.db.select({ name: subAccounts.name }).from(subAccounts).where(eq(subAccounts.id, subAccountId!));
    tenantName = row?.name ?? 'your team';
  }

  const token = randomToken();
  const now = deps.clock.now();
  // A client is invited by its agency, under the agency's brand and, when it has one (and the
  // deployment routes by host name), on the agency's portal domain; it never reads "Kontor".
  const agencyBrandRow = scope === 'sub_account' ? (await deps.db.select({ name: agencies.name, displayName: agencies.brandDisplayName, portalDomain: agencies.portalDomain }).from(agencies).where(eq(agencies.id, agencyId!)))[0] : undefined;
  const portalBase = agencyBrandRow?.portalDomain && deps.config.trustHostHeader ? `${new URL(deps.config.publicUrl).protocol}//${agencyBrandRow.portalDomain}` : deps.config.publicUrl;
  const acceptUrl = `${portalBase}/invitations/${token}`;
  // A client's people are invited to their agency's brand (white label); others to Kontor.
  const brand = agencyBrandRow ? agencyBrandRow.displayName || agencyBrandRow.name : null;
  const result = await deps.db.transaction(async (tx) => {
    const [already] = await tx
      .select({ id: memberships.id })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(
        and(
          eq(users.email, input.email),
          eq(memberships.scope, scope),
          agencyId ? eq(memberships.agencyId, agencyId) : isNull(memberships.agencyId),
          subAccountId ? eq(memberships.subAccountId, subAccountId) : isNull(memberships.subAccountId),
        ),
      );
    if (already) throw new ValidationError({ email: 'This person is already a member here.' });
    const id = newId('inv');
    await tx.insert(invitations).values({
      id, scope, agencyId, subAccountId, email: input.email, role: input.role, billing: input.billing,
      tokenHash: sha256(token), invitedByUserId: actor.kind === 'user' ? actor.id : null,
      expiresAt: new Date(now.getTime() + INVITATION_DAYS * 86_400_000), createdAt: now,
    });
    await recordAudit(tx, actor, { action: 'user.invited', targetType: 'invitation', targetId: id, agencyId, subAccountId, data: { email: input.email, role: input.role, billing: input.billing } }, now);
    // In the invitee's language when they already chose one, else the agency's.
    const w = mailWriter(await mailLanguage(tx, agencyId, [input.email]));
    const where = w.t(brand ? 'email:invitation.whereBrand' : 'email:invitation.whereKontor', { name: tenantName, brand });
    // The invitation is the link itself: it goes by email whatever the invitee chose for team notices.
    const mailId = await notify(tx, {
      category: 'team', kind: 'invitation', alwaysEmail: true,
      account: { agencyId, subAccountId },
      at: now,
      email: { idempotencyKey: `invitation:${id}`, message: {
        to: [input.email],
        subject: w.t('email:invitation.subject', { where }),
        text: w.t(input.billing ? 'email:invitation.bodyBilling' : 'email:invitation.body', { where, role: w.t(`email:invitation.role.${input.role}`), days: INVITATION_DAYS, url: acceptUrl }),
      } },
    });
    return { id, mailId };
  });
  await dispatchEmails(deps.queue, [result.mailId]);
  return { invitationId: result.id, email: input.email, acceptUrl };
}

export async function findInvitation(deps: Pick<Deps, 'db' | 'clock'>, token: string) {
  const [inv] = await deps.db.select().from(invitations).where(eq(invitations.tokenHash, sha256(token)));
  if (!inv || inv.acceptedAt || inv.expiresAt <= deps.clock.now()) {
    throw new AppError('invitation_invalid', 404, 'This invitation link is not valid any more. Ask for a new one.');
  }
  const [existing] = await deps.db.select({ id: users.id }).from(users).where(eq(users.email, inv.email));
  return { invitation: inv, userExists: Boolean(existing) };
}

export const acceptSchema = z
  .object({ name: name('Name'), password: passwordRule, confirmPassword: z.string().optional() })
  .refine((v) => v.confirmPassword === undefined || v.confirmPassword === v.password, { path: ['confirmPassword'], message: 'The two passwords do not match.' });

/**
 * Accepts an invitation: a new user chooses a name and password; an existing user proves the
 * email is theirs with their current password and gains the new membership.
 */
export async function acceptInvitation(deps: Deps, params: { token: string; input: unknown }): Promise<User> {
  const { invitation, userExists } = await findInvitation(deps, params.token);
  const now = deps.clock.now();
  if (userExists) {
    const input = parse(z.object({ password: z.string().min(1, 'Enter your password.') }), params.input);
    const [user] = await deps.db.select().from(users).where(eq(users.email, invitation.email));
    if (!user || !(await verifyPassword(input.password, user.passwordHash))) throw new ValidationError({ password: 'The password is not correct.' });
    await claim(deps, invitation, user.id, now);
    return user;
  }
  const input = parse(acceptSchema, params.input);
  await assertAcceptablePassword(input.password, { email: invitation.email, name: input.name }, 'password');
  const passwordHash = await hashPassword(input.password, deps.config.passwordHashCost);
  return deps.db.transaction(async (tx) => {
    const [user] = await tx
      .insert(users)
      .values({ id: newId('usr'), email: invitation.email, name: input.name, passwordHash, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning();
    if (!user) throw new ValidationError({ _: 'An account with this email was just created. Sign in instead.' });
    await claimIn(tx, invitation, user.id, now);
    return user;
  });
}

type Invitation = typeof invitations.$inferSelect;

async function claim(deps: Deps, invitation: Invitation, userId: string, now: Date) {
  await deps.db.transaction((tx) => claimIn(tx, invitation, userId, now));
}

async function claimIn(tx: Tx, invitation: Invitation, userId: string, now: Date) {
  // Marking it accepted with a guard makes a double submit claim it once.
  const claimed = await tx
    .update(invitations)
    .set({ acceptedAt: now })
    .where(and(eq(invitations.id, invitation.id), isNull(invitations.acceptedAt)))
    .returning({ id: invitations.id });
  if (claimed.length === 0) throw new AppError('invitation_invalid', 404, 'This invitation was already used.');
  await tx
    .insert(memberships)
    .values({ id: newId('mem'), userId, scope: invitation.scope, agencyId: invitation.agencyId, subAccountId: invitation.subAccountId, role: invitation.role, billing: invitation.billing, createdAt: now })
    .onConflictDoNothing();
}

export interface MemberRow {
  membershipId: string;
  userId: string;
  email: string;
  name: string;
  role: Role;
  billing: boolean;
  presence: PresenceStatus;
}

/** Members of exactly one tenant (the actor's, or a sub-account of the actor's agency). */
export async function listMembers(deps: Pick<Deps, 'db'>, params: { actor: Actor; subAccountId?: string; sub?: SubAccount }): Promise<MemberRow[]> {
  const { actor } = params;
  let where;
  if (params.subAccountId) {
    // `sub`: the caller's own read of that sub-account with this actor (not read again).
    const known = params.sub?.id === params.subAccountId && actor.scope === 'agency' && params.sub.agencyId === actor.agencyId ? params.sub : null;
    const sub = known ?? (await getSubAccount(deps, { actor, subAccountId: params.subAccountId }));
    where = and(eq(memberships.scope, 'sub_account'), eq(memberships.subAccountId, sub.id), eq(memberships.agencyId, sub.agencyId));
  } else if (actor.scope === 'platform') where = eq(memberships.scope, 'platform');
  else if (actor.scope === 'agency') where = and(eq(memberships.scope, 'agency'), eq(memberships.agencyId, actor.agencyId!));
  else where = and(eq(memberships.scope, 'sub_account'), eq(memberships.subAccountId, actor.subAccountId!));
  return deps.db
    .select({ membershipId: memberships.id, userId: users.id, email: users.email, name: users.name, role: memberships.role, billing: memberships.billing, presence: users.presence })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(where)
    .orderBy(asc(users.email));
}

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(users);
  return row?.n ?? 0;
}
