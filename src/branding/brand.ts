import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { agencies, payments } from '../../db/schema';

/**
 * What a person sees as "who runs this": the platform for agencies and platform staff, the
 * agency for its clients (DESIGN section 11). A client never sees the platform's name.
 */
export interface Brand {
  /** The agency whose brand this is; null for the platform. */
  agencyId: string | null;
  name: string;
  /** An https URL (checked when saved); the page allows images from its origin only. */
  logoUrl: string | null;
  /** `#rrggbb`, or null for the default colours. */
  color: string | null;
  supportEmail: string | null;
}

/** The product's own name: shown to platform staff and agencies, never to an agency's clients. */
export const PLATFORM_BRAND: Brand = { agencyId: null, name: 'Kontor', logoUrl: null, color: null, supportEmail: null };

type BrandColumns = Pick<typeof agencies.$inferSelect, 'id' | 'name' | 'brandDisplayName' | 'brandLogoUrl' | 'brandColor' | 'supportEmail'>;
type SenderColumns = Pick<typeof agencies.$inferSelect, 'name' | 'brandDisplayName' | 'emailSenderName' | 'emailReplyTo' | 'supportEmail'>;

export const brandColumns = {
  id: agencies.id,
  name: agencies.name,
  brandDisplayName: agencies.brandDisplayName,
  brandLogoUrl: agencies.brandLogoUrl,
  brandColor: agencies.brandColor,
  supportEmail: agencies.supportEmail,
};

/** An agency's brand: without a display name its own name (never the platform's). */
export function brandOf(a: BrandColumns): Brand {
  return { agencyId: a.id, name: a.brandDisplayName || a.name, logoUrl: a.brandLogoUrl, color: a.brandColor, supportEmail: a.supportEmail };
}

export async function agencyBrand(db: DbOrTx, agencyId: string): Promise<Brand | null> {
  const [row] = await db.select(brandColumns).from(agencies).where(eq(agencies.id, agencyId));
  return row ? brandOf(row) : null;
}

/**
 * The agency whose portal answers on this host name, if any. Only call it when the deployment
 * trusts the Host header (config.trustHostHeader): otherwise anyone could pick a brand by header.
 */
export async function brandByPortalDomain(db: DbOrTx, host: string): Promise<Brand | null> {
  const domain = host.trim().toLowerCase().replace(/\.$/, '');
  if (!domain) return null;
  const [row] = await db.select(brandColumns).from(agencies).where(eq(agencies.portalDomain, domain));
  return row ? brandOf(row) : null;
}

/** The brand on a payment's pages: its seller's (an agency's clients pay the agency). */
export async function paymentBrand(db: DbOrTx, paymentId: string): Promise<Brand> {
  const [row] = await db.select({ seller: payments.sellerAgencyId }).from(payments).where(eq(payments.id, paymentId));
  const brand = row?.seller ? await agencyBrand(db, row.seller) : null;
  return brand ?? PLATFORM_BRAND;
}

/** How mail to an agency's clients is signed: the agency's sender name and reply-to address. */
export interface MailSender {
  fromName: string;
  replyTo: string | null;
}

export function mailSenderOf(a: SenderColumns): MailSender {
  return { fromName: a.emailSenderName || a.brandDisplayName || a.name, replyTo: a.emailReplyTo || a.supportEmail || null };
}

export async function clientMailSender(db: DbOrTx, agencyId: string): Promise<MailSender | null> {
  const [row] = await db
    .select({ name: agencies.name, brandDisplayName: agencies.brandDisplayName, emailSenderName: agencies.emailSenderName, emailReplyTo: agencies.emailReplyTo, supportEmail: agencies.supportEmail })
    .from(agencies)
    .where(eq(agencies.id, agencyId));
  return row ? mailSenderOf(row) : null;
}

/**
 * The stylesheet of a brand colour (served as /brand/<rrggbb>.css: the pages' CSP allows no
 * inline styles). Text on the colour is black or white, whichever contrasts more.
 */
export function brandCss(hex: string): string | null {
  if (!/^[0-9a-f]{6}$/.test(hex)) return null;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with white (1.05 / (L + 0.05)) against contrast with black ((L + 0.05) / 0.05).
  const onWhite = 1.05 / (luminance + 0.05);
  const inverse = onWhite >= (luminance + 0.05) / 0.05 ? '#fff' : '#000';
  const c = `#${hex}`;
  // Links are text on white: a light brand colour is darkened for them until it reads (WCAG AA).
  const link = onWhite >= 4.5 ? c : `color-mix(in srgb,${c} ${onWhite >= 3 ? 60 : 40}%,#000)`;
  return [
    `:root[data-theme]{--brand-color:${c};--brand-inverse:${inverse};`,
    `--pico-primary:${link};--pico-primary-background:${c};--pico-primary-border:${c};--pico-primary-inverse:${inverse};`,
    `--pico-primary-hover:color-mix(in srgb,${c} 80%,#000);--pico-primary-hover-background:color-mix(in srgb,${c} 80%,#000);--pico-primary-hover-border:color-mix(in srgb,${c} 80%,#000);`,
    `--pico-primary-underline:color-mix(in srgb,${c} 50%,transparent);--pico-primary-focus:color-mix(in srgb,${c} 40%,transparent);}`,
    `.site-header{border-top:4px solid ${c}}`,
  ].join('\n');
}
