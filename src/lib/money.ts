import { z } from 'zod';
import { msg } from './message';
import { required } from './validation';

/** The largest price anything in Kontor accepts: 1,000,000,000.00 in major units. */
export const MAX_PRICE_MINOR = 100_000_000_000;
const MAX_PRICE_MAJOR = MAX_PRICE_MINOR / 100;
const MAX_MAJOR_DIGITS = String(MAX_PRICE_MINOR / 100).length;

/**
 * A price typed by a person to integer minor units, without floats: the string is split into
 * whole and fraction digits. "199.90" and "199,90" use a decimal mark; "1,250.50" and "1,250"
 * group thousands with commas. At most two decimals. Returns the minor units, or what is wrong.
 */
export function parseMoneyToMinor(raw: unknown): number | string {
  let s = typeof raw === 'string' ? raw.trim() : '';
  if (s === '') return 'Enter a price, for example 199.90.';
  if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(s)) s = s.replace(/,/g, '');
  const m = /^([+-]?)(\d*)(?:[.,](\d*))?$/.exec(s);
  if (!m || (m[2] === '' && !m[3])) return 'Enter the price as a number, for example 199.90.';
  if (m[1] === '-') return 'The price cannot be negative.';
  const fraction = m[3] ?? '';
  if (fraction.length > 2) return 'Use at most 2 decimals, for example 199.90.';
  const whole = m[2]!.replace(/^0+/, '');
  if (whole.length > MAX_MAJOR_DIGITS) return msg('errors:price.tooHigh', { max: MAX_PRICE_MAJOR });
  const minor = Number(whole || '0') * 100 + Number(fraction.padEnd(2, '0'));
  if (minor === 0) return 'The price must be more than zero.';
  if (minor > MAX_PRICE_MINOR) return msg('errors:price.tooHigh', { max: MAX_PRICE_MAJOR });
  return minor;
}

/** A form field holding a positive price (see parseMoneyToMinor). */
export const moneyField = (label: string) =>
  z.string({ error: required(label) }).transform((v, ctx) => {
    const minor = parseMoneyToMinor(v);
    if (typeof minor === 'string') {
      ctx.addIssue({ code: 'custom', message: msg('errors:field.amount', { label }) });
      return z.NEVER;
    }
    return minor;
  });

// One formatter per language for the whole part (a page formats hundreds of amounts).
const TR_WHOLE = new Intl.NumberFormat('tr-TR');
const EN_WHOLE = new Intl.NumberFormat('en-US');

/** Formats integer minor units for people (TRY 1.083,87 in Turkish, TRY 1,083.87 in English); arithmetic never happens on this string. */
export function formatMoney(minor: number, currency: string, locale: string): string {
  const major = Math.trunc(minor / 100);
  const cents = String(Math.abs(minor % 100)).padStart(2, '0');
  const whole = (locale === 'tr' ? TR_WHOLE : EN_WHOLE).format(major);
  return locale === 'tr' ? `${currency} ${whole},${cents}` : `${currency} ${whole}.${cents}`;
}
