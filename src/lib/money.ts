import { z } from 'zod';

/**
 * A price typed by a person ("199.90", "1,250.5", "15") to integer minor units, without floats:
 * the string is split into whole and fraction digits. At most two decimals; thousands separators
 * (",") are tolerated before the decimal point.
 */
export function parseMoneyToMinor(input: string): number | null {
  const s = input.trim().replace(/,(?=\d{3}(\D|$))/g, '');
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** A form field holding a price: positive, at most two decimals. */
export const moneyField = (label: string) =>
  z.string({ error: `${label} is required.` }).transform((v, ctx) => {
    const minor = parseMoneyToMinor(v);
    if (minor === null || minor <= 0) {
      ctx.addIssue({ code: 'custom', message: `${label}: enter an amount such as 199.90 (at most two decimals).` });
      return z.NEVER;
    }
    return minor;
  });
