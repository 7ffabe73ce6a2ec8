import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { agencies } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireScope } from '../auth/policies';
import type { Deps } from '../deps';
import { ValidationError, errors } from '../lib/errors';
import { blankToNull, parse, tooLong } from '../lib/validation';
import { msg } from '../lib/message';

/** Text that ends up in a page title or an email header: one line, no angle brackets or quotes. */
const oneLine = (label: string, max: number) =>
  z
    .string({ error: msg('errors:field.text', { label }) })
    .trim()
    .max(max, tooLong(label, max))
    .refine((v) => !/[\p{Cc}<>"]/u.test(v), msg('errors:field.oneLine', { label }));

const optionalEmailNamed = (label: string) =>
  blankToNull(z.string({ error: msg('errors:field.emailText', { label }) }).trim().max(254, msg('errors:field.tooLongShort', { label })).pipe(z.email(msg('errors:field.email', { label }))).transform((v) => v.toLowerCase()));

const HOST = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export const agencyBrandSchema = z.object({
  brandDisplayName: blankToNull(oneLine('Display name', 100)),
  brandLogoUrl: blankToNull(
    z
      .string({ error: 'Logo address must be text.' })
      .trim()
      .max(500, 'Logo address is too long (500 characters at most).')
      .refine((v) => {
        try {
          const u = new URL(v);
          return u.protocol === 'https:' && HOST.test(u.hostname) && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'Logo address must be an https:// address of an image, such as https://example.com/logo.png.'),
  ),
  brandColor: blankToNull(
    z
      .string({ error: 'Colour must be text.' })
      .trim()
      .regex(/^#?(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'Colour must be a hex colour such as #1a73e8.')
      .transform((v) => {
        const hex = v.replace('#', '').toLowerCase();
        return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
      }),
  ),
  supportEmail: optionalEmailNamed('Support email'),
  emailSenderName: blankToNull(oneLine('Sender name', 100)),
  emailReplyTo: optionalEmailNamed('Reply-to address'),
  portalDomain: blankToNull(
    z
      .string({ error: 'Portal domain must be text.' })
      .trim()
      .toLowerCase()
      .transform((v) => v.replace(/\.$/, ''))
      .refine((v) => HOST.test(v), 'Portal domain must be a host name such as portal.example.com (no https://, path or port).'),
  ),
});

export type AgencyBrandInput = z.infer<typeof agencyBrandSchema>;
export const brandFields = Object.keys(agencyBrandSchema.shape) as (keyof AgencyBrandInput)[];

/** Agency owners, and admins with the billing permission, change what their clients see. */
export function requireBrandEditor(actor: Actor): void {
  requireScope(actor, 'agency');
  if (actor.role === 'owner' || (actor.role === 'admin' && actor.billing)) return;
  throw errors.forbidden('Changing the brand needs the owner role, or the admin role with the billing permission.');
}

/**
 * The agency's white label: display name, logo, colour, support email, the sender name and
 * reply-to of its clients' emails, and its portal domain. All fields are replaced (a blank one
 * clears it); nothing is written unless every field is valid.
 */
export async function updateAgencyBrand(deps: Deps, params: { actor: Actor; input: unknown }): Promise<typeof agencies.$inferSelect> {
  requireBrandEditor(params.actor);
  const agencyId = params.actor.agencyId!;
  const input = parse(agencyBrandSchema, params.input);
  if (input.portalDomain && input.portalDomain === new URL(deps.config.publicUrl).hostname) {
    throw new ValidationError({ portalDomain: 'This is the platform\'s own address: use a domain of your own.' });
  }
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const [before] = await tx.select().from(agencies).where(eq(agencies.id, agencyId)).for('update');
    if (!before) throw errors.notFound('Agency');
    if (input.portalDomain) {
      const [taken] = await tx.select({ id: agencies.id }).from(agencies).where(and(eq(agencies.portalDomain, input.portalDomain), ne(agencies.id, agencyId)));
      if (taken) throw new ValidationError({ portalDomain: 'Another agency already uses this portal domain.' });
    }
    const [after] = await tx.update(agencies).set({ ...input, updatedAt: now }).where(eq(agencies.id, agencyId)).returning();
    const old = Object.fromEntries(brandFields.map((k) => [k, before[k]]));
    await recordAudit(tx, params.actor, { action: 'agency.brand_updated', targetType: 'agency', targetId: agencyId, agencyId, data: { before: old, after: input } }, now);
    return after!;
  });
}
