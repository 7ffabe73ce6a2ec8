import { foreignKey, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz } from './common';
import { scopeEnum } from './enums';
import { subAccounts } from './sub-accounts';
import { users } from './users';

/** Machine credentials. The secret is shown once; only its SHA-256 is kept. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    scope: scopeEnum('scope').notNull(),
    agencyId: text('agency_id').references(() => agencies.id),
    subAccountId: text('sub_account_id'),
    name: text('name').notNull(),
    /** First characters of the key, shown in lists so a key can be recognised. */
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    createdByUserId: text('created_by_user_id').references(() => users.id),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('api_keys_hash_key').on(t.keyHash),
    index('api_keys_agency_idx').on(t.agencyId, t.subAccountId),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
  ],
);
