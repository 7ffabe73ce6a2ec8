import type { Formatter } from '../i18n/format';
import type { Translate } from '../i18n/i18n';

interface NoticeLike {
  kind: string;
  message: string;
  data: Record<string, unknown>;
}

/** The notice's title in the reader's language (`notifications:kind.<kind>`, else a general one). */
export function noticeTitle(t: Translate, kind: string): string {
  return t(`notifications:kind.${kind}`, { defaultValue: t('notifications:kind.other') }) as string;
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));

/**
 * The notice's text: from the catalog with its data where the kind has one, else the text the
 * notice was written with.
 */
export function noticeBody(t: Translate, fmt: Formatter, n: NoticeLike): string {
  const d = n.data;
  if (n.kind === 'low_balance' && d.balance !== undefined && d.threshold !== undefined) {
    return t('notifications:body.low_balance', { balance: fmt.number(num(d.balance)), threshold: fmt.number(num(d.threshold)) }) as string;
  }
  if (n.kind === 'grant_failed' && d.count !== undefined) {
    return t('notifications:body.grant_failed', { count: num(d.count), available: fmt.number(num(d.available)), needed: fmt.number(num(d.needed)) }) as string;
  }
  if (n.kind === 'email_changed' && typeof d.newEmail === 'string') return t('notifications:body.email_changed', { email: d.newEmail }) as string;
  if (n.kind === 'password_changed') return t('notifications:body.password_changed') as string;
  return n.message;
}

/** Where a notice leads in the app (the push's click, the centre's link). */
export function noticeLink(kind: string, scope: 'platform' | 'agency' | 'sub_account' | null): string {
  const base = scope === 'agency' ? '/agency' : scope === 'sub_account' ? '/portal' : '/platform';
  if (kind.startsWith('auto_billing')) return `${base}/auto-billing`;
  if (kind === 'low_balance' || kind === 'grant_failed') return `${base}/credits`;
  if (kind.startsWith('purchase')) return scope === 'sub_account' ? '/portal/purchases' : '/agency/purchases';
  if (kind.startsWith('invoice') || kind.startsWith('account_')) return scope === 'platform' ? '/platform/invoices' : `${base}/billing`;
  return '/notifications';
}
