import { sql } from 'drizzle-orm';
import { bigint, boolean, check, foreignKey, index, integer, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { currencies } from './catalog';
import { createdAt, tstz, updatedAt } from './common';

export const packageTypes = ['credit', 'subscription'] as const;
export type PackageType = (typeof packageTypes)[number];

/** A package an agency resells. Its terms live in versions: an edit never changes what was sold. */
export const packages = pgTable(
  'packages',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    currentVersionId: text('current_version_id').notNull(),
    published: boolean('published').notNull().default(false),
    archivedAt: tstz('archived_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('packages_agency_idx').on(t.agencyId), unique('packages_agency_id_id_key').on(t.agencyId, t.id)],
);

export const packageVersions = pgTable(
  'package_versions',
  {
    id: text('id').primaryKey(),
    packageId: text('package_id').notNull(),
    agencyId: text('agency_id').notNull(),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    type: text('type', { enum: packageTypes }).notNull(),
    priceMinor: bigint('price_minor', { mode: 'number' }).notNull(),
    currency: text('currency', { enum: currencies }).notNull(),
    /** credit: granted once; subscription: granted every month of the term. */
    credits: bigint('credits', { mode: 'number' }).notNull(),
    termMonths: integer('term_months'),
    chatbots: integer('chatbots').notNull().default(0),
    departmentIds: text('department_ids').array().notNull().default([]),
    createdAt: createdAt(),
  },
  (t) => [
    unique('package_versions_number_key').on(t.packageId, t.version),
    foreignKey({ columns: [t.agencyId, t.packageId], foreignColumns: [packages.agencyId, packages.id] }),
    check('package_versions_amounts', sql`${t.priceMinor} > 0 and ${t.credits} >= 0 and ${t.chatbots} >= 0`),
    check('package_versions_term', sql`(${t.type} = 'credit' and ${t.termMonths} is null) or (${t.type} = 'subscription' and ${t.termMonths} between 1 and 36)`),
  ],
);
