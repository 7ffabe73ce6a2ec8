import { eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { agencies, users } from '../../db/schema';
import { formatterFor, type Formatter } from '../i18n/format';
import { isLang, localize, tFor, type Lang, type Translate } from '../i18n/i18n';

/**
 * The language of an email (DESIGN section 11): the recipients' own choice when every one of
 * them who is a user chose the same language (users.locale), else the agency's language, else
 * English. Mail to the platform's staff (no agency) follows their choice, else English.
 */
export async function mailLanguage(db: DbOrTx, agencyId: string | null | undefined, to: readonly string[]): Promise<Lang> {
  const chosen = to.length === 0 ? [] : await db.select({ locale: users.locale }).from(users).where(inArray(users.email, [...to]));
  const langs = new Set(chosen.map((u) => u.locale).filter(isLang));
  if (langs.size === 1) return [...langs][0]!;
  if (!agencyId) return 'en';
  const [a] = await db.select({ locale: agencies.locale }).from(agencies).where(eq(agencies.id, agencyId));
  return isLang(a?.locale) ? a.locale : 'en';
}

/** What an email is written with: the language's texts and formats (dates in the seller's zone). */
export interface MailWriter {
  lang: Lang;
  t: Translate;
  fmt: Formatter;
  /** A message (key, encoded key or fixed sentence) in this language. */
  text(message: string, params?: Record<string, unknown>): string;
}

export function mailWriter(lang: Lang, zone?: string): MailWriter {
  const t = tFor(lang);
  return { lang, t, fmt: formatterFor(lang, zone), text: (m, p) => localize(t, m, p) };
}
