// Zod pieces for tax identities on forms and in the API (DESIGN section 10): a tax rate typed in
// percent, a VKN, a TCKN. Their messages are keys of the `tax` catalog, shown on the field.
import { z } from 'zod';
import { checkTckn, checkVkn } from './tax-ids';
import { parseTaxRate, rateText, type RateBp } from './tax';

/** A rate in percent ("20", "8,5", 20) to hundredths of a percent; blank is refused. */
export const taxRateField = z.unknown().transform((v, ctx): RateBp => {
  const r = parseTaxRate(v);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

/** A rate that may be left blank (null: "the seller's default"). */
export const optionalTaxRateField = z.unknown().transform((v, ctx): RateBp | null => {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return null;
  const r = parseTaxRate(v);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

const idField = (check: typeof checkVkn) =>
  z.unknown().transform((v, ctx): string => {
    const r = check(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.value;
  });

/** A company's VKN: 10 digits with its check digit. */
export const vknField = idField(checkVkn);
/** A person's TCKN: 11 digits with its check digits. */
export const tcknField = idField(checkTckn);
/** A seller's tax number: a VKN (10 digits) or, for a sole trader, a TCKN (11 digits). */
export const taxNumberField = z.unknown().transform((v, ctx): string => {
  const s = typeof v === 'string' ? v.replace(/\s+/g, '') : '';
  const r = s.length === 11 ? checkTckn(s) : checkVkn(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  }
  return r.value;
});

/** A rate as a person reads it in a form field: 2000 -> "20", 850 -> "8.5". */
export function rateInput(rateBp: RateBp | null | undefined): string {
  if (rateBp === null || rateBp === undefined) return '';
  return rateText(rateBp).replace(/\.?0+$/, '');
}
