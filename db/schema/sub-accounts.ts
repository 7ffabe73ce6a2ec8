import { boolean, index, integer, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { agencies } from './agencies';
import { createdAt, tstz, updatedAt } from './common';
import { accountStatusEnum } from './enums';

export const subAccounts = pgTable(
  'sub_accounts',
  {
    id: text('id').primaryKey(),
    agencyId: text('agency_id').notNull().references(() => agencies.id),
    name: text('name').notNull(),
    status: accountStatusEnum('status').notNull().default('active'),
    suspendedAt: tstz('suspended_at'),
    /** Suspended by its agency by hand (src/suspension/manual-suspension.ts); only the agency lifts it. */
    manualSuspended: boolean('manual_suspended').notNull().default(false),
    /** Set while two or more of its invoices are overdue (the suspension check); `status` follows. */
    overdueSuspendedAt: tstz('overdue_suspended_at'),
    billingEmail: text('billing_email'),
    /** Chatbots allocated from the agency's slots. */
    chatbots: integer('chatbots').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('sub_accounts_agency_idx').on(t.agencyId, t.createdAt),
    // Lets child tables reference (agency_id, id) so a row can never point at another agency's sub-account.
    unique('sub_accounts_agency_id_id_key').on(t.agencyId, t.id),
  ],
);
