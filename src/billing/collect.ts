import { and, eq, inArray } from 'drizzle-orm';
import { invoices } from '../../db/schema';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';

export type CollectOutcome = 'open' | 'paid' | 'already';

/**
 * Hands a delivered invoice to collection. Today this only marks it `open` (awaiting payment);
 * an invoice of 0 is settled at once (`paid`, nothing to collect).
 *
 * THE GATEWAY CHARGE HOOKS IN HERE: when the payment gateways land, this is where the buyer's
 * saved card is charged through the seller's gateway (off-session, when the gateway supports it)
 * and, on success, `markInvoicePaid(deps, { invoiceId, paymentId, by: systemActor(...) })` is
 * called; a declined charge leaves the invoice `open` for the buyer to pay by hand. Both the
 * monthly cut and term purchases reach collection only through this function.
 */
export async function collectInvoice(deps: Pick<Deps, 'db' | 'clock'>, invoiceId: string): Promise<CollectOutcome> {
  const now = deps.clock.now();
  const [inv] = await deps.db.select({ status: invoices.status, total: invoices.totalMinor }).from(invoices).where(eq(invoices.id, invoiceId));
  if (!inv) throw errors.notFound('Invoice');
  if (inv.status !== 'draft') return 'already';
  const status = inv.total === 0 ? 'paid' : 'open';
  const moved = await deps.db
    .update(invoices)
    .set({ status, ...(status === 'paid' ? { paidAt: now } : {}), updatedAt: now })
    .where(and(eq(invoices.id, invoiceId), inArray(invoices.status, ['draft'])))
    .returning({ id: invoices.id });
  return moved.length ? status : 'already';
}
