import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { rowsOf } from '../lib/rows';

/**
 * Reserves `count` consecutive invoice numbers of a seller and returns the first. The upsert
 * locks the seller's counter row until the transaction ends, so two transactions issuing for the
 * same seller take turns, and a rolled-back one gives its numbers back: no gaps, no duplicates.
 */
export async function allocateInvoiceNumbers(tx: Tx, sellerKey: string, count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const [row] = rowsOf<{ first: number }>(await tx.execute(sql`
    insert into invoice_counters (seller_key, next_number, updated_at) values (${sellerKey}, ${1 + count}, now())
    on conflict (seller_key) do update set next_number = invoice_counters.next_number + ${count}, updated_at = now()
    returning next_number - ${count} as first`));
  return Number(row!.first);
}

/** How an invoice number is shown: the seller's sequence, zero-padded ("INV-000042"). */
export const formatInvoiceNumber = (n: number) => `INV-${String(n).padStart(6, '0')}`;
