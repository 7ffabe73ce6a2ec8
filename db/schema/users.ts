import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz, updatedAt } from './common';
import { roleEnum, scopeEnum } from './enums';

/** Online, Busy, Be Right Back, Offline. */
export const presenceStatuses = ['online', 'busy', 'be_right_back', 'offline'] as const;
export type PresenceStatus = (typeof presenceStatuses)[number];
import { subAccounts } from './sub-accounts';

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** Stored lower-cased; unique across the platform. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    /** The language the user chose in their profile ('en', 'tr'); null: their agency's, else their browser's. */
    locale: text('locale'),
    /** Online status, shown to the team and through the API (src/users/presence.ts). */
    presence: text('presence', { enum: presenceStatuses }).notNull().default('offline'),
    presenceChangedAt: tstz('presence_changed_at'),
    passwordChangedAt: tstz('password_changed_at'),
    lastLoginAt: tstz('last_login_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_email_key').on(t.email),
    check('users_locale_check', sql`${t.locale} IS NULL OR ${t.locale} IN ('en', 'tr')`),
    check('users_presence_check', sql`${t.presence} IN ('online', 'busy', 'be_right_back', 'offline')`),
  ],
);

/**
 * A change of a user's email, waiting for the link sent to the new address. The token is stored
 * hashed; a request is used once and expires (EMAIL_CHANGE_HOURS); the email is unchanged until then.
 */
export const emailChanges = pgTable(
  'email_changes',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    newEmail: text('new_email').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: tstz('expires_at').notNull(),
    usedAt: tstz('used_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('email_changes_token_key').on(t.tokenHash), index('email_changes_user_idx').on(t.userId)],
);

/** A user's place in one tenant: platform staff, agency staff or a sub-account user. */
export const memberships = pgTable(
  'memberships',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    scope: scopeEnum('scope').notNull(),
    agencyId: text('agency_id').references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    role: roleEnum('role').notNull(),
    /** The separate billing permission: without it no billing screen is visible. */
    billing: boolean('billing').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index('memberships_user_idx').on(t.userId),
    index('memberships_agency_idx').on(t.agencyId, t.subAccountId),
    uniqueIndex('memberships_user_tenant_key').on(t.userId, t.scope, sql`coalesce(${t.agencyId}, '')`, sql`coalesce(${t.subAccountId}, '')`),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
    check(
      'memberships_scope_shape',
      sql`(${t.scope} = 'platform' and ${t.agencyId} is null and ${t.subAccountId} is null)
       or (${t.scope} = 'agency' and ${t.agencyId} is not null and ${t.subAccountId} is null)
       or (${t.scope} = 'sub_account' and ${t.agencyId} is not null and ${t.subAccountId} is not null)`,
    ),
  ],
);

export const invitations = pgTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    scope: scopeEnum('scope').notNull(),
    agencyId: text('agency_id').references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    email: text('email').notNull(),
    role: roleEnum('role').notNull(),
    billing: boolean('billing').notNull().default(false),
    tokenHash: text('token_hash').notNull(),
    invitedByUserId: text('invited_by_user_id').references(() => users.id),
    expiresAt: tstz('expires_at').notNull(),
    acceptedAt: tstz('accepted_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('invitations_token_key').on(t.tokenHash),
    index('invitations_agency_idx').on(t.agencyId, t.subAccountId),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
  ],
);
