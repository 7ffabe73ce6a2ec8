import { formatMoney } from '../lib/money';
import type { Lang } from './i18n';

const intlTag = (lang: Lang) => (lang === 'tr' ? 'tr-TR' : 'en-GB');

/**
 * How numbers, money and dates read for one language in one time zone (the seller's): every page,
 * email and PDF formats through this, never with toISOString(). Dates use Intl, so month names and
 * the order of day and month follow the language ("4 Ara 2026" / "4 Dec 2026").
 */
export interface Formatter {
  lang: Lang;
  zone: string;
  money(minor: number, currency: string): string;
  number(n: number | bigint | string): string;
  /** A moment's calendar day in the zone. */
  date(d: Date | null | undefined): string;
  /** A moment's day and time (hours and minutes) in the zone. */
  dateTime(d: Date | null | undefined): string;
  /** A calendar day given as YYYY-MM-DD (already a day, no zone to apply). */
  day(ymd: string | null | undefined): string;
  /** A month given as YYYY-MM. */
  month(ym: string): string;
  /** The zone's short name as readers see it next to a time ("GMT+3"). */
  zoneName(d?: Date): string;
}

const cache = new Map<string, Intl.DateTimeFormat>();
function dtf(lang: Lang, zone: string, kind: 'date' | 'dateTime' | 'day' | 'month' | 'zone'): Intl.DateTimeFormat {
  const key = `${lang}|${zone}|${kind}`;
  let f = cache.get(key);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions =
      kind === 'date' ? { day: 'numeric', month: 'short', year: 'numeric', timeZone: zone }
      : kind === 'dateTime' ? { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone }
      : kind === 'day' ? { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }
      : kind === 'month' ? { month: 'long', year: 'numeric', timeZone: 'UTC' }
      : { timeZoneName: 'short', timeZone: zone };
    f = new Intl.DateTimeFormat(intlTag(lang), opts);
    cache.set(key, f);
  }
  return f;
}

const numbers = new Map<Lang, Intl.NumberFormat>();
function numberFormat(lang: Lang): Intl.NumberFormat {
  let f = numbers.get(lang);
  if (!f) numbers.set(lang, (f = new Intl.NumberFormat(intlTag(lang))));
  return f;
}

export function formatterFor(lang: Lang, zone = 'Europe/Istanbul'): Formatter {
  const num = numberFormat(lang);
  return {
    lang,
    zone,
    money: (minor, currency) => formatMoney(minor, currency, lang),
    number: (n) => (typeof n === 'string' ? num.format(BigInt(n)) : num.format(n)),
    date: (d) => (d ? dtf(lang, zone, 'date').format(d) : '—'),
    dateTime: (d) => (d ? dtf(lang, zone, 'dateTime').format(d) : '—'),
    day: (ymd) => (ymd ? dtf(lang, zone, 'day').format(new Date(`${ymd.slice(0, 10)}T00:00:00Z`)) : '—'),
    month: (ym) => dtf(lang, zone, 'month').format(new Date(`${ym}-01T00:00:00Z`)),
    zoneName: (d = new Date()) => dtf(lang, zone, 'zone').formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? zone,
  };
}
