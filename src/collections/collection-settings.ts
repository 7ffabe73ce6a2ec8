// A seller's collection schedules (DESIGN section 10): when reminders go (days relative to an
// invoice's due day) and when a saved card is tried again (days after it). The platform sets its
// own for agencies, each agency its own for its clients; without a saved row the defaults apply.
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { DbOrTx } from '../../db/client';
import { collectionSettings } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling, requireRole } from '../auth/policies';
import { PLATFORM_SELLER_KEY } from '../billing/accounts';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { msg } from '../lib/message';
import { parse } from '../lib/validation';
import { gatewayOf, getGatewayAccount } from '../payments/gateway-accounts';

export const DEFAULT_REMINDER_DAYS: readonly number[] = [-3, 0, 3, 7];
export const DEFAULT_RETRY_DAYS: readonly number[] = [1, 3, 5];
/** A reminder at most this many days before or after the due day. */
export const MAX_REMINDER_OFFSET = 60;
export const MAX_REMINDERS = 8;
/** A retry at most this many days after the due day. */
export const MAX_RETRY_DAY = 60;
export const MAX_RETRIES = 6;

export interface CollectionSchedule {
  reminderDays: number[];
  retryDays: number[];
  /** False while the seller runs on the defaults. */
  custom: boolean;
}

const dayList = (field: 'reminderDays' | 'retryDays', min: number, max: number, most: number) => {
  const k = (what: string, params?: Record<string, unknown>) => msg(`collections:errors.${field}.${what}`, params);
  return z
    .array(z.number({ error: k('whole') }).int(k('whole')).min(min, k('range', { min, max })).max(max, k('range', { min, max })), { error: k('list') })
    .max(most, k('tooMany', { most }))
    .superRefine((days, ctx) => {
      const seen = new Set<number>();
      for (const d of days) {
        if (seen.has(d)) ctx.addIssue({ code: 'custom', message: k('duplicate', { day: d }) });
        seen.add(d);
      }
    })
    .transform((days) => [...days].sort((a, b) => a - b));
};

export const collectionSettingsSchema = z.object({
  reminderDays: dayList('reminderDays', -MAX_REMINDER_OFFSET, MAX_REMINDER_OFFSET, MAX_REMINDERS)
    .describe(`Days relative to the due day a reminder goes (-${MAX_REMINDER_OFFSET}..${MAX_REMINDER_OFFSET}, at most ${MAX_REMINDERS}, no repeats; [] sends none)`),
  retryDays: dayList('retryDays', 1, MAX_RETRY_DAY, MAX_RETRIES)
    .describe(`Days after the due day the saved card is charged again (1..${MAX_RETRY_DAY}, at most ${MAX_RETRIES}, no repeats; [] retries never)`),
}).strict();

/**
 * What a settings form sends: "-3, 0, 3, 7" as text. Whole numbers become numbers; anything else is
 * kept as it is, so the schema refuses it with the field's message (nothing is guessed).
 */
export function dayListFromText(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  const parts = text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  return parts.map((p) => (/^[+-]?\d{1,4}$/.test(p) ? Number(p) : p));
}

const sellerKeyOf = (sellerAgencyId: string | null) => sellerAgencyId ?? PLATFORM_SELLER_KEY;

/** A seller's schedule (null: the platform), the defaults when it saved none. */
export async function collectionScheduleOf(db: DbOrTx, sellerAgencyId: string | null): Promise<CollectionSchedule> {
  const [row] = await db.select().from(collectionSettings).where(eq(collectionSettings.sellerKey, sellerKeyOf(sellerAgencyId)));
  if (!row) return { reminderDays: [...DEFAULT_REMINDER_DAYS], retryDays: [...DEFAULT_RETRY_DAYS], custom: false };
  return { reminderDays: row.reminderDays, retryDays: row.retryDays, custom: true };
}

/** The seller a platform or agency actor speaks for (sub-accounts sell nothing). */
function sellerOf(actor: Actor): string | null {
  if (actor.scope === 'platform') return null;
  if (actor.scope === 'agency' && actor.agencyId) return actor.agencyId;
  throw errors.wrongScope('platform or agency');
}

/** The caller's (a seller's) schedule. Reading it needs the billing permission. */
export async function getCollectionSettings(deps: Pick<Deps, 'db'>, actor: Actor): Promise<CollectionSchedule> {
  const seller = sellerOf(actor);
  requireBilling(actor);
  return collectionScheduleOf(deps.db, seller);
}

/**
 * Saves the caller's schedule (an admin with the billing permission). Bad input (not whole
 * numbers, out of range, repeated, too many) is refused with a message per field and nothing is
 * written. Audit-logged with the schedule before and after.
 */
export async function updateCollectionSettings(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<CollectionSchedule> {
  const { actor } = params;
  const seller = sellerOf(actor);
  requireBilling(actor);
  requireRole(actor, 'admin');
  const input = parse(collectionSettingsSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const before = await collectionScheduleOf(tx, seller);
    const row = { sellerKey: sellerKeyOf(seller), sellerAgencyId: seller, reminderDays: input.reminderDays, retryDays: input.retryDays, updatedAt: now };
    await tx.insert(collectionSettings).values(row).onConflictDoUpdate({ target: collectionSettings.sellerKey, set: row });
    await recordAudit(tx, actor, {
      action: 'collections.settings_changed', targetType: seller ? 'agency' : 'platform', targetId: sellerKeyOf(seller), agencyId: seller,
      data: { before: { reminderDays: before.reminderDays, retryDays: before.retryDays }, after: { reminderDays: input.reminderDays, retryDays: input.retryDays } },
    }, now);
    return { reminderDays: input.reminderDays, retryDays: input.retryDays, custom: true };
  });
}

export interface CollectionSettingsView extends CollectionSchedule {
  /** Whether the seller's payment system can charge a saved card without the buyer (else no retries happen). */
  cardRetriesPossible: boolean;
}

/** The caller's schedule, and whether its payment system can retry cards at all (the form and the API). */
export async function collectionSettingsView(deps: Pick<Deps, 'db' | 'config'>, actor: Actor): Promise<CollectionSettingsView> {
  const schedule = await getCollectionSettings(deps, actor);
  const account = await getGatewayAccount(deps, sellerOf(actor));
  return { ...schedule, cardRetriesPossible: account ? gatewayOf(deps, account).canChargeOffSession : false };
}
