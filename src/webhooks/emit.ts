// The one call domain code makes when something a seller's systems may want to know happens:
// the event is written, with one delivery per subscribed endpoint, inside the caller's
// transaction (a rolled-back change sends nothing; a committed one is delivered by the worker).
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import type { WebhookEventType } from '../../db/schema';
import { newId } from '../lib/ids';
import { rowsOf } from '../lib/rows';
import type { EventData } from './event-schemas';

export const PLATFORM_SELLER = 'platform';

/**
 * Who hears about an account: its seller (a sub-account's agency; an agency's the platform) and,
 * for an agency's own account, the agency itself (its own invoices, credits and suspension).
 */
export function recipientsOf(account: { agencyId: string; subAccountId: string | null }): string[] {
  return account.subAccountId ? [account.agencyId] : [PLATFORM_SELLER, account.agencyId];
}

/**
 * Records `type` for the account in the caller's transaction. Nothing is written when no enabled
 * endpoint of its recipients subscribes to the type (one statement either way). Returns the event
 * id, or null when nobody listens.
 */
export async function emitEvent<T extends WebhookEventType>(
  tx: DbOrTx,
  event: { type: T; at: Date; data: EventData<T> },
): Promise<string | null> {
  const { account } = event.data;
  const id = newId('evt');
  const keys = sql.join(recipientsOf(account).map((k) => sql`${k}`), sql`, `);
  const at = event.at.toISOString();
  const rows = await tx.execute(sql`
    with targets as (
      select id, seller_key from webhook_endpoints where seller_key in (${keys}) and enabled and ${event.type} = any(events)
    ), ev as (
      insert into webhook_events (id, type, agency_id, sub_account_id, data, created_at)
      select ${id}, ${event.type}, ${account.agencyId}, ${account.subAccountId}, ${JSON.stringify(event.data)}::jsonb, ${at}::timestamptz
      where exists (select 1 from targets)
      returning id
    )
    insert into webhook_deliveries (id, event_id, endpoint_id, seller_key, status, attempts, next_attempt_at, window_start, created_at, updated_at)
    select 'whd_' || replace(gen_random_uuid()::text, '-', ''), ev.id, t.id, t.seller_key, 'pending', 0, ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz
    from ev, targets t
    returning event_id`);
  return rowsOf(rows).length ? id : null;
}

/** invoice.paid, from the invoice row (its number formatted by the caller). */
export function emitInvoicePaid(
  tx: DbOrTx,
  inv: { id: string; agencyId: string; subAccountId: string | null; totalMinor: number; currency: string },
  p: { number: string; paymentId: string | null; at: Date },
): Promise<string | null> {
  return emitEvent(tx, {
    type: 'invoice.paid', at: p.at,
    data: { account: { agencyId: inv.agencyId, subAccountId: inv.subAccountId }, invoiceId: inv.id, number: p.number, totalMinor: inv.totalMinor, currency: inv.currency, paidAt: p.at.toISOString(), paymentId: p.paymentId },
  });
}

/** payment.failed, from the payment row. */
export function emitPaymentFailed(
  tx: DbOrTx,
  pay: { id: string; buyerAgencyId: string; buyerSubAccountId: string | null; purpose: string; amountMinor: number; currency: string },
  p: { reason: string; at: Date },
): Promise<string | null> {
  return emitEvent(tx, {
    type: 'payment.failed', at: p.at,
    data: { account: { agencyId: pay.buyerAgencyId, subAccountId: pay.buyerSubAccountId }, paymentId: pay.id, purpose: pay.purpose, amountMinor: pay.amountMinor, currency: pay.currency, reason: p.reason },
  });
}
