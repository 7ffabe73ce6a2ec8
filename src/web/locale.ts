import type { Request } from 'express';
import { formatMoney } from '../lib/money';

/** The reader's language for money and dates: the user's choice, else English. */
export const localeOf = (req: Request): 'tr' | 'en' => (req.user?.user.locale === 'tr' ? 'tr' : 'en');

/** Money formatted for the reader's language. */
export const moneyFor = (req: Request) => (minor: number, currency: string) => formatMoney(minor, currency, localeOf(req));
