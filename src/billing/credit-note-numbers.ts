import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client';
import { rowsOf } from '../lib/rows';

/**
 * Reserves a seller's next credit note number: its own series, apart from invoices. The upsert
 * locks the seller's counter row until the transaction ends, so two notes issued at once take
 * turns and a rolled-back one gives its number back: no gaps, no duplicates.
 */
export async function allocateCreditNoteNumber(tx: Tx, sellerKey: string): Promise<number> {
  const [row] = rowsOf<{ n: number }>(await tx.execute(sql`
    insert into credit_note_counters (seller_key, next_number, updated_at) values (${sellerKey}, 2, now())
    on conflict (seller_key) do update set next_number = credit_note_counters.next_number + 1, updated_at = now()
    returning next_number - 1 as n`));
  return Number(row!.n);
}

/** How a credit note number is shown: the seller's credit note sequence, zero-padded ("CN-000007"). */
export const formatCreditNoteNumber = (n: number) => `CN-${String(n).padStart(6, '0')}`;
