import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, pgTable, primaryKey, text, unique } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz, updatedAt } from './common';
import { subAccounts } from './sub-accounts';

/** An agency's department; usage in it costs `credits_per_request` per conversation. */
export const departments = pgTable(
  'departments',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    name: text('name').notNull(),
    creditsPerRequest: integer('credits_per_request').notNull(),
    archivedAt: tstz('archived_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('departments_agency_idx').on(t.agencyId),
    unique('departments_agency_id_id_key').on(t.agencyId, t.id),
    check('departments_credits_nonneg', sql`${t.creditsPerRequest} >= 0`),
  ],
);

/** Departments enabled on a sub-account. Both foreign keys carry the agency: no cross-agency rows. */
export const subAccountDepartments = pgTable(
  'sub_account_departments',
  {
    agencyId: text('agency_id').notNull(),
    subAccountId: text('sub_account_id').notNull(),
    departmentId: text('department_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.subAccountId, t.departmentId] }),
    foreignKey({ columns: [t.agencyId, t.subAccountId], foreignColumns: [subAccounts.agencyId, subAccounts.id] }),
    foreignKey({ columns: [t.agencyId, t.departmentId], foreignColumns: [departments.agencyId, departments.id] }),
  ],
);
