// What a reminder says about suspension. The rule itself is unchanged (src/suspension: an account
// with OVERDUE_INVOICES_TO_SUSPEND overdue invoices is suspended); this only reads it forward.
import { addDays, type CalendarDay } from '../billing/proration';
import { OVERDUE_INVOICES_TO_SUSPEND } from '../suspension/suspension.usecases';

export type SuspensionForecast =
  /** Suspended for its invoices now (or from today: the hourly check catches up within the hour). */
  | { kind: 'suspended' }
  /** Suspended on that day if nothing is paid: the day the second unpaid invoice becomes overdue. */
  | { kind: 'on'; day: CalendarDay }
  /** Fewer unpaid invoices than the rule needs: only a further overdue invoice would suspend it. */
  | { kind: 'another_invoice' };

/**
 * When the account will be suspended if nothing is paid, from the due days of its unpaid invoices
 * (the seller's calendar). An invoice is overdue from the day after its due day, so the account is
 * suspended on the day its OVERDUE_INVOICES_TO_SUSPEND-th unpaid invoice becomes overdue.
 */
export function forecastSuspension(p: { unpaidDueDays: readonly CalendarDay[]; today: CalendarDay; suspendedForInvoices: boolean }): SuspensionForecast {
  if (p.suspendedForInvoices) return { kind: 'suspended' };
  const overdueFrom = p.unpaidDueDays.map((d) => addDays(d, 1)).sort();
  const day = overdueFrom[OVERDUE_INVOICES_TO_SUSPEND - 1];
  if (day === undefined) return { kind: 'another_invoice' };
  return day <= p.today ? { kind: 'suspended' } : { kind: 'on', day };
}
