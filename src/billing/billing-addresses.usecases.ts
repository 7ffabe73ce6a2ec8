// Billing addresses of a buyer (DESIGN section 6, invoice screens). The default one is printed
// on the invoices issued from then on; an invoice keeps the address it was issued with.
import { and, asc, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { billingAddresses } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import { requireBilling } from '../auth/policies';
import type { Deps } from '../deps';
import { errors } from '../lib/errors';
import { newId } from '../lib/ids';
import { blankToNull, checkbox, parse, required as requiredField, tooLong } from '../lib/validation';
import { buyerAccount } from './accounts';

export type BillingAddress = typeof billingAddresses.$inferSelect;

const required = (label: string, max = 200) =>
  z.string({ error: requiredField(label) }).trim().min(1, requiredField(label)).max(max, tooLong(label, max));
const optional = (label: string, max = 200) => blankToNull(z.string().trim().max(max, tooLong(label, max)));

export const addressSchema = z.object({
  name: required('Name (person or company)'),
  line1: required('Address'),
  line2: optional('Address line 2'),
  city: required('City', 100),
  postalCode: optional('Postal code', 20),
  country: required('Country', 100),
  taxId: optional('Tax id', 50),
  isDefault: checkbox.default(false),
});

export async function listBillingAddresses(deps: Pick<Deps, 'db'>, params: { actor: Actor }): Promise<BillingAddress[]> {
  const account = await buyerAccount(deps.db, params.actor);
  return deps.db.select().from(billingAddresses).where(and(eq(billingAddresses.accountId, account.accountId), eq(billingAddresses.agencyId, account.agencyId))).orderBy(asc(billingAddresses.createdAt));
}

/** Adds an address; the first one (or one marked default) becomes the default. */
export async function addBillingAddress(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; input: unknown }): Promise<BillingAddress> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const input = parse(addressSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const existing = await tx.select({ id: billingAddresses.id }).from(billingAddresses).where(eq(billingAddresses.accountId, account.accountId)).for('update');
    const isDefault = input.isDefault || existing.length === 0;
    if (isDefault) await tx.update(billingAddresses).set({ isDefault: false, updatedAt: now }).where(eq(billingAddresses.accountId, account.accountId));
    const [row] = await tx
      .insert(billingAddresses)
      .values({ id: newId('adr'), agencyId: account.agencyId, subAccountId: account.subAccountId, accountId: account.accountId, ...input, isDefault, createdAt: now, updatedAt: now })
      .returning();
    await recordAudit(tx, params.actor, { action: 'billing_address.added', targetType: 'billing_address', targetId: row!.id, agencyId: account.agencyId, subAccountId: account.subAccountId }, now);
    return row!;
  });
}

/** Edits one of the caller's addresses (all fields, as the form sends them). */
export async function updateBillingAddress(deps: Pick<Deps, 'db' | 'clock'>, params: { actor: Actor; addressId: string; input: unknown }): Promise<BillingAddress> {
  requireBilling(params.actor);
  const account = await buyerAccount(deps.db, params.actor);
  const [current] = await deps.db.select().from(billingAddresses).where(and(eq(billingAddresses.id, params.addressId), eq(billingAddresses.accountId, account.accountId)));
  if (!current) throw errors.notFound('Billing address');
  const input = parse(addressSchema, params.input);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const isDefault = input.isDefault || current.isDefault;
    if (isDefault) await tx.update(billingAddresses).set({ isDefault: false, updatedAt: now }).where(and(eq(billingAddresses.accountId, account.accountId), ne(billingAddresses.id, current.id)));
    const [row] = await tx.update(billingAddresses).set({ ...input, isDefault, updatedAt: now }).where(eq(billingAddresses.id, current.id)).returning();
    await recordAudit(tx, params.actor, { action: 'billing_address.updated', targetType: 'billing_address', targetId: current.id, agencyId: account.agencyId, subAccountId: account.subAccountId }, now);
    return row!;
  });
}
