import { boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, tstz, updatedAt } from './common';
import { accountStatusEnum } from './enums';
import { platform } from './platform';

export const agencies = pgTable(
  'agencies',
  {
    id: text('id').primaryKey(),
    platformId: text('platform_id').notNull().references(() => platform.id),
    name: text('name').notNull(),
    status: accountStatusEnum('status').notNull().default('active'),
    /** When `status` became suspended (for either reason below). */
    suspendedAt: tstz('suspended_at'),
    /**
     * Why the account is suspended: the platform's manual flag and/or two overdue invoices
     * (set by the suspension check, cleared when fewer than two remain). `status` is 'suspended'
     * while either holds; the usage function and the grants read `status` only.
     */
    manualSuspended: boolean('manual_suspended').notNull().default(false),
    overdueSuspendedAt: tstz('overdue_suspended_at'),
    /** The paid "reselling" module of the agency's platform plan: gates its package screens. */
    resellingModule: boolean('reselling_module').notNull().default(false),
    planCode: text('plan_code'),
    timeZone: text('time_zone').notNull().default('Europe/Istanbul'),
    billingEmail: text('billing_email'),
    ccEmails: text('cc_emails').array().notNull().default([]),
    locale: text('locale').notNull().default('en'),
    /** Chatbot slots bought from the platform; those allocated to sub-accounts are counted on them. */
    chatbotSlots: integer('chatbot_slots').notNull().default(0),
    /** When set, a sub-account's departments follow its active packages. */
    restrictDepartmentsToPackages: boolean('restrict_departments_to_packages').notNull().default(false),
    /** Days between an invoice's issue and its due date, for the invoices this agency issues. */
    invoiceDueDays: integer('invoice_due_days').notNull().default(10),
    /**
     * White label (DESIGN section 11): what the agency's clients see instead of the platform.
     * All optional; without a display name the clients see `name`, never the platform's name.
     */
    brandDisplayName: text('brand_display_name'),
    /** An https URL of the logo, shown as an image from the agency's own host (docs/decisions.md). */
    brandLogoUrl: text('brand_logo_url'),
    /** The primary colour, `#rrggbb` (lower case). */
    brandColor: text('brand_color'),
    /** Where the agency's clients write for help (shown in the portal's footer). */
    supportEmail: text('support_email'),
    /** The display name on emails to the agency's clients (the address stays the platform's). */
    emailSenderName: text('email_sender_name'),
    /** Reply-To on emails to the agency's clients. */
    emailReplyTo: text('email_reply_to'),
    /** A host name (lower case, no port) serving the agency's portal, found from the Host header when trusted. */
    portalDomain: text('portal_domain'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('agencies_platform_idx').on(t.platformId, t.createdAt), uniqueIndex('agencies_portal_domain_key').on(t.portalDomain)],
);
