// One interface for every e-invoice integrator (özel entegratör), chosen per seller like a payment
// gateway (src/payments/gateway.ts): the offline sandbox (sandboxes/einvoice.ts) and Nilvera
// (src/einvoice/integrators/nilvera.ts). An integrator takes the unsigned UBL-TR XML, seals and
// signs it, passes it to GİB (e-Fatura) or reports it (e-Arşiv), and answers a status.
import type { EInvoiceIntegratorKind, EInvoiceMode } from '../../db/schema/einvoice';
import type { DocumentKind, Profile } from './ubl-tr';

export type IntegratorStatus = 'accepted' | 'pending' | 'rejected';

/** What an integrator answers about a document. */
export interface IntegratorAnswer {
  /** The ETTN the integrator knows the document by (the one sent). */
  ettn: string;
  status: IntegratorStatus;
  /** Why it was rejected, as the integrator wrote it (shown to the seller as is). */
  reason?: string;
  /** The integrator's raw answer, kept for support. */
  raw?: unknown;
}

export interface SendRequest {
  xml: string;
  ettn: string;
  number: string;
  profile: Profile;
  kind: DocumentKind;
  /** The buyer's VKN/TCKN. */
  buyerTaxId: string;
  /** e-Fatura: the buyer's GİB mailbox (urn:mail:defaultpk@...), when known. */
  recipientAlias?: string;
}

export interface EInvoiceIntegrator {
  readonly kind: EInvoiceIntegratorKind;
  /**
   * Sends one document. The same idempotency key (the ETTN) sent again answers the first
   * outcome instead of sending twice. Throws IntegratorTransportError when the integrator could
   * not be reached or failed on its side (worth retrying); a refusal of the document is an
   * answer with status 'rejected', not an error.
   */
  send(request: SendRequest, idempotencyKey: string): Promise<IntegratorAnswer>;
  /** Where a sent document stands now. */
  status(ettn: string, profile: Profile): Promise<IntegratorAnswer>;
}

/** The integrator could not be reached or failed on its side: the job retries with back-off. */
export class IntegratorTransportError extends Error {
  override name = 'IntegratorTransportError';
}

/** The integrator refused our credentials: retrying will not help until the seller fixes them. */
export class IntegratorAuthError extends Error {
  override name = 'IntegratorAuthError';
}

export interface IntegratorField {
  name: string;
  /** Catalog key of its label (einvoice:field.*). */
  label: string;
  secret: boolean;
  required: boolean;
}

export interface IntegratorRegistration {
  kind: EInvoiceIntegratorKind;
  /** A product name, the same in every language. */
  label: string;
  /** The integrator's public API documentation. */
  docsUrl?: string;
  fields: readonly IntegratorField[];
  /** Checks the credentials for a mode: field name -> message for people, empty when fine. */
  check(values: Record<string, string | undefined>, mode: EInvoiceMode): Record<string, string>;
  create(credentials: Record<string, string>, opts: { mode: EInvoiceMode; sandboxUrl: string | null; timeoutMs: number }): EInvoiceIntegrator;
}

/** fetch with a deadline; any network failure or timeout is a transport error. */
export async function fetchWithDeadline(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new IntegratorTransportError(`${init.method ?? 'GET'} ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
