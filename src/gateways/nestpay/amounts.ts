// Money on NestPay's wire: "12.50" in the 3D form, the callback and the XML API requests, and
// whole minor units ("1250") in the ORDERSTATUS answer. Integer code only: never floats.
import type { Currency } from '../../../db/schema';

export const currencyToNumeric: Record<Currency, string> = { TRY: '949', USD: '840', EUR: '978' };
const numericToCurrency: Record<string, Currency> = { '949': 'TRY', '840': 'USD', '978': 'EUR' };

export function currencyFromNumeric(code: string | undefined): Currency | null {
  return code !== undefined && Object.hasOwn(numericToCurrency, code) ? numericToCurrency[code]! : null;
}

/** Integer minor units to NestPay's "1234.50" (a dot and two decimals, no grouping). */
export function formatAmount(minor: number): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`Not an amount in minor units: ${minor}`);
  return `${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

/**
 * "12.50", "12.5" or "12" to 1250; null for anything else (signs, grouping, more than two
 * decimals, exponents). Split into digit strings, so no float ever holds the value.
 */
export function parseAmount(text: string | undefined): number | null {
  if (text === undefined) return null;
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** ORDERSTATUS reports ORIG_TRANS_AMT / CAPTURE_AMT in minor units ("101" is 1.01). */
export function parseMinorUnits(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : null;
}
