// A seller's e-invoice integrator: which one, test or production, the GİB series its documents
// are numbered in, and its credentials sealed like payment gateway secrets (never shown again).
import { eq } from 'drizzle-orm';
import { einvoiceAccounts, einvoiceModes, type EInvoiceMode } from '../../db/schema';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../auth/actor';
import type { Deps } from '../deps';
import { ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { msg } from '../lib/message';
import { secretBoxOf, sellerKeyOf } from '../payments/gateway-accounts';
import { secretHint } from '../payments/secret-box';
import type { EInvoiceIntegrator } from './integrator';
import { integratorRegistrationOf } from './integrators';
import { SERIES } from './mapping';

export type EInvoiceAccount = typeof einvoiceAccounts.$inferSelect;

/** What pages and the API may show: never a secret, only its hint. */
export interface EInvoiceAccountView {
  id: string;
  kind: string;
  mode: EInvoiceMode;
  invoiceSeries: string;
  creditNoteSeries: string;
  commercial: boolean;
  secretHints: Record<string, string>;
  updatedAt: Date;
}

export const DEFAULT_SERIES = { invoice: 'KNT', creditNote: 'KNI' } as const;

export async function getEInvoiceAccount(deps: Pick<Deps, 'db'>, sellerAgencyId: string | null): Promise<EInvoiceAccount | undefined> {
  const [row] = await deps.db.select().from(einvoiceAccounts).where(eq(einvoiceAccounts.sellerKey, sellerKeyOf(sellerAgencyId)));
  return row;
}

export function einvoiceViewOf(row: EInvoiceAccount): EInvoiceAccountView {
  return {
    id: row.id, kind: row.kind, mode: row.mode,
    invoiceSeries: row.settings.invoiceSeries ?? DEFAULT_SERIES.invoice,
    creditNoteSeries: row.settings.creditNoteSeries ?? DEFAULT_SERIES.creditNote,
    commercial: row.settings.commercial === 'yes',
    secretHints: row.secretHints, updatedAt: row.updatedAt,
  };
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v));

/**
 * Saves a seller's integrator. Secret fields left blank keep their stored value when the
 * integrator stays the same; switching integrator needs every field again. The series are 3
 * capital letters or digits, different for invoices and credit notes. Nothing is written when
 * any field is wrong. The caller has checked the actor may manage this seller's billing.
 */
export async function saveEInvoiceAccount(deps: Pick<Deps, 'db' | 'clock' | 'config'>, actor: Actor, sellerAgencyId: string | null, input: Record<string, unknown>): Promise<EInvoiceAccountView> {
  const fields: Record<string, string> = {};
  const kind = text(input.kind);
  const registration = integratorRegistrationOf(kind);
  if (!registration) fields.kind = msg('einvoice:error.kind');
  const mode = text(input.mode) || 'test';
  if (!(einvoiceModes as readonly string[]).includes(mode)) fields.mode = msg('einvoice:error.mode');
  const invoiceSeries = text(input.invoiceSeries).toUpperCase() || DEFAULT_SERIES.invoice;
  const creditNoteSeries = text(input.creditNoteSeries).toUpperCase() || DEFAULT_SERIES.creditNote;
  if (!SERIES.test(invoiceSeries)) fields.invoiceSeries = msg('einvoice:error.series');
  if (!SERIES.test(creditNoteSeries)) fields.creditNoteSeries = msg('einvoice:error.series');
  else if (creditNoteSeries === invoiceSeries) fields.creditNoteSeries = msg('einvoice:error.seriesSame');
  const commercialRaw = text(input.commercial) || 'no';
  if (!['yes', 'no', 'true', 'false'].includes(commercialRaw)) fields.commercial = msg('einvoice:error.commercial');
  const commercial = commercialRaw === 'yes' || commercialRaw === 'true';
  if (!registration || fields.mode) throw new ValidationError(fields);

  const sellerKey = sellerKeyOf(sellerAgencyId);
  const box = secretBoxOf(deps);
  const existing = await getEInvoiceAccount(deps, sellerAgencyId);
  const previous: Record<string, string> = existing && existing.kind === registration.kind ? (JSON.parse(box.open(existing.secrets, sellerKey)) as Record<string, string>) : {};
  const values: Record<string, string | undefined> = {};
  for (const f of registration.fields) {
    const given = text(input[f.name]);
    values[f.name] = f.secret && !given ? previous[f.name] : given || undefined;
  }
  Object.assign(fields, registration.check(values, mode as EInvoiceMode));
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);

  const settings: Record<string, string> = { invoiceSeries, creditNoteSeries, commercial: commercial ? 'yes' : 'no' };
  const secrets: Record<string, string> = {};
  const hints: Record<string, string> = {};
  for (const f of registration.fields) {
    const v = values[f.name];
    if (!v) continue;
    if (f.secret) {
      secrets[f.name] = v;
      hints[f.name] = secretHint(v);
    } else settings[f.name] = v;
  }
  const now = deps.clock.now();
  const sealed = box.seal(JSON.stringify(secrets), sellerKey);
  const row = await deps.db.transaction(async (tx) => {
    const [saved] = await tx
      .insert(einvoiceAccounts)
      .values({ id: newId('eia'), sellerKey, sellerAgencyId, kind: registration.kind, mode: mode as EInvoiceMode, settings, secrets: sealed, secretHints: hints, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: einvoiceAccounts.sellerKey, set: { kind: registration.kind, mode: mode as EInvoiceMode, settings, secrets: sealed, secretHints: hints, updatedAt: now } })
      .returning();
    await recordAudit(tx, actor, { action: 'einvoice.configured', targetType: 'einvoice_account', targetId: saved!.id, agencyId: sellerAgencyId, data: { kind: registration.kind, mode, settings, secretsChanged: Object.keys(secrets).filter((k) => previous[k] !== secrets[k]) } }, now);
    return saved!;
  });
  return einvoiceViewOf(row);
}

/** The integrator client of a stored account, with its decrypted credentials. */
export function integratorOf(deps: Pick<Deps, 'config'>, row: EInvoiceAccount): EInvoiceIntegrator {
  const registration = integratorRegistrationOf(row.kind);
  if (!registration) throw new Error(`no e-invoice integrator ${row.kind}`);
  return registration.create(integratorCredentialsOf(deps, row), { mode: row.mode, sandboxUrl: deps.config.sandboxUrl, timeoutMs: deps.config.gatewayTimeoutMs });
}

/** Decrypted credentials of a stored account: public settings and secrets together. */
export function integratorCredentialsOf(deps: Pick<Deps, 'config'>, row: EInvoiceAccount): Record<string, string> {
  const secrets = JSON.parse(secretBoxOf(deps).open(row.secrets, row.sellerKey)) as Record<string, string>;
  return { ...row.settings, ...secrets };
}
