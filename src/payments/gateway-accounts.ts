import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { gatewayAccounts } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { registrationOf } from '../gateways';
import { AppError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import type { GatewayMode, PaymentGateway } from './gateway';
import { SecretBox, secretHint } from './secret-box';
import { msg } from '../lib/message';
import { fieldErrors } from '../lib/validation';

export type GatewayAccount = typeof gatewayAccounts.$inferSelect;

/** The platform sells as seller 'platform'; an agency as its own id. */
export const sellerKeyOf = (sellerAgencyId: string | null): string => sellerAgencyId ?? 'platform';

export const secretBoxOf = (deps: Pick<Deps, 'config'>): SecretBox => new SecretBox(deps.config.secretKeys);

const head = z.object({
  kind: z.string({ error: 'Choose a payment system.' }).min(1, 'Choose a payment system.'),
  mode: z.enum(['test', 'production'], { error: 'Choose test or production mode.' }),
});

/** What the settings page may show: never a secret, only its hint. */
export interface GatewayAccountView {
  id: string;
  kind: string;
  mode: GatewayMode;
  settings: Record<string, string>;
  secretHints: Record<string, string>;
  updatedAt: Date;
}

export async function getGatewayAccount(deps: Pick<Deps, 'db'>, sellerAgencyId: string | null): Promise<GatewayAccount | undefined> {
  const [row] = await deps.db.select().from(gatewayAccounts).where(eq(gatewayAccounts.sellerKey, sellerKeyOf(sellerAgencyId)));
  return row;
}

export function viewOf(row: GatewayAccount): GatewayAccountView {
  return { id: row.id, kind: row.kind, mode: row.mode, settings: row.settings, secretHints: row.secretHints, updatedAt: row.updatedAt };
}

/**
 * Saves a seller's payment system. Secret fields left blank keep their stored value (they are
 * never shown again, so the form cannot echo them); switching gateway needs every field again.
 * The caller has checked the actor may manage this seller's billing.
 */
export async function saveGatewayAccount(deps: Pick<Deps, 'db' | 'clock' | 'config'>, actor: Actor, sellerAgencyId: string | null, input: Record<string, string | undefined>): Promise<GatewayAccountView> {
  const parsed = head.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(fieldErrors(parsed.error.issues, { topOnly: true }));
  }
  const { kind, mode } = parsed.data;
  const registration = registrationOf(kind);
  if (!registration) throw new ValidationError({ kind: 'Choose one of the offered payment systems.' });
  const sellerKey = sellerKeyOf(sellerAgencyId);
  const box = secretBoxOf(deps);
  const existing = await getGatewayAccount(deps, sellerAgencyId);

  const values: Record<string, string | undefined> = {};
  let previousSecrets: Record<string, string> = {};
  if (existing && existing.kind === kind) previousSecrets = JSON.parse(box.open(existing.secrets, sellerKey)) as Record<string, string>;
  for (const field of registration.credentialFields) {
    const given = input[field.name]?.trim();
    values[field.name] = field.secret && !given ? previousSecrets[field.name] : given;
  }
  const credentials = registration.parseCredentials(values, mode);

  const settings: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const hints: Record<string, string> = {};
  for (const field of registration.credentialFields) {
    const value = credentials[field.name];
    if (value === undefined || value === '') continue;
    if (field.secret) {
      secrets[field.name] = value;
      hints[field.name] = secretHint(value);
    } else settings[field.name] = value;
  }
  const now = deps.clock.now();
  const sealed = box.seal(JSON.stringify(secrets), sellerKey);
  const [row] = await deps.db.transaction(async (tx) => {
    const saved = await tx
      .insert(gatewayAccounts)
      .values({ id: newId('gwa'), sellerKey, sellerAgencyId, kind: registration.kind, mode, settings, secrets: sealed, secretHints: hints, createdAt: now, updatedAt: now })
      // Installments stay with a NestPay or iyzico account; any other gateway has none.
      .onConflictDoUpdate({ target: gatewayAccounts.sellerKey, set: { kind: registration.kind, mode, settings, secrets: sealed, secretHints: hints, updatedAt: now, ...(registration.kind === 'nestpay' || registration.kind === 'iyzico' ? {} : { installmentPlan: null }) } })
      .returning();
    await recordAudit(tx, actor, { action: 'gateway.configured', targetType: 'gateway_account', targetId: saved[0]!.id, agencyId: sellerAgencyId, data: { kind, mode, settings, secretsChanged: Object.keys(secrets).filter((k) => previousSecrets[k] !== secrets[k]) } }, now);
    return saved;
  });
  return viewOf(row!);
}

/** Decrypted credentials of a stored account: public settings and secrets together. */
export function credentialsOf(deps: Pick<Deps, 'config'>, row: GatewayAccount): Record<string, string> {
  const secrets = JSON.parse(secretBoxOf(deps).open(row.secrets, row.sellerKey)) as Record<string, string>;
  return { ...row.settings, ...secrets };
}

/** The gateway implementation for a stored account, with the process's sandbox and timeout. */
export function gatewayOf(deps: Pick<Deps, 'config'>, row: GatewayAccount): PaymentGateway {
  const registration = registrationOf(row.kind);
  if (!registration) throw new AppError('gateway_unavailable', 503, msg('errors:payment.systemUnavailable', { kind: row.kind }));
  return registration.create(credentialsOf(deps, row), { mode: row.mode, sandboxUrl: deps.config.sandboxUrl, timeoutMs: deps.config.gatewayTimeoutMs });
}

/** Re-seals every stored secret with the current key (after adding a new first key to SECRET_KEYS). */
export async function rotateGatewaySecrets(deps: Pick<Deps, 'db' | 'config'>): Promise<{ rotated: number; total: number }> {
  const box = secretBoxOf(deps);
  const rows = await deps.db.select().from(gatewayAccounts);
  let rotated = 0;
  for (const row of rows) {
    if (box.keyIdOf(row.secrets) === box.currentKeyId) continue;
    const sealed = box.seal(box.open(row.secrets, row.sellerKey), row.sellerKey);
    await deps.db.update(gatewayAccounts).set({ secrets: sealed }).where(eq(gatewayAccounts.id, row.id));
    rotated += 1;
  }
  return { rotated, total: rows.length };
}
