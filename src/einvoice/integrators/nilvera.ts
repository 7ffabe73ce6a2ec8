// Nilvera (nilvera.com), a GİB-licensed e-invoice integrator with a public REST API.
//
// Written against Nilvera's public documentation, https://developer.nilvera.com/v/en/ (overview:
// test https://apitest.nilvera.com and live https://api.nilvera.com, one API per product under
// /{API_NAME} such as /earchive and /einvoice, an API key made in Nilvera's portal sent as
// `Authorization: Bearer <API KEY>`), and its E-Archive and E-Invoice API pages
// (https://developer.nilvera.com/en/api/e-archive-invoice-api/...: answers carry the document's
// `UUID` and `InvoiceNumber`). The XML upload and status endpoints used here, and the error and
// status shapes, are the ones Odoo's Nilvera connector calls (odoo/odoo,
// addons/l10n_tr_nilvera_einvoice/models/account_move.py):
//   POST /earchive/Send/Xml                 multipart/form-data, the UBL-TR XML as part `file`
//   POST /einvoice/Send/Xml?Alias=<alias>   the same, to a registered buyer's GİB mailbox
//   GET  /earchive/Invoices/{uuid}/Status   { StatusCode, StatusDetail, ReportStatus }
//   GET  /einvoice/Sale/{uuid}/Status       { InvoiceStatus: { Code, Description, DetailDescription } }
//   4xx: { Errors: [{ Code, Description, Detail }] }; 401/403: the key lacks the right.
// Status codes: succeed (accepted), waiting / sent (pending), error (rejected), unknown.
// Not verified against Nilvera's test environment (no network here): tests run the client
// against a local fake of these endpoints (test/einvoice/nilvera.test.ts). docs/einvoice.md.
import { msg } from '../../lib/message';
import { fetchWithDeadline, IntegratorAuthError, IntegratorTransportError, type EInvoiceIntegrator, type IntegratorAnswer, type IntegratorRegistration, type SendRequest } from '../integrator';
import type { Profile } from '../ubl-tr';

export const NILVERA_URLS = { test: 'https://apitest.nilvera.com', production: 'https://api.nilvera.com' } as const;
export const NILVERA_DOCS = 'https://developer.nilvera.com/v/en/';

interface NilveraErrors { Errors?: { Code?: number | string; Description?: string; Detail?: string }[] }

const channelOf = (profile: Profile) => (profile === 'EARSIVFATURA' ? 'earchive' : 'einvoice');

/** Nilvera's status code as ours. */
export function nilveraStatus(code: string | undefined): IntegratorAnswer['status'] | undefined {
  switch ((code ?? '').toLowerCase()) {
    case 'succeed': return 'accepted';
    case 'waiting':
    case 'sent':
    case 'unknown': return 'pending';
    case 'error': return 'rejected';
    default: return undefined;
  }
}

const errorText = (body: NilveraErrors | null): string =>
  (body?.Errors ?? []).map((e) => [e.Code, e.Description, e.Detail].filter((x) => x !== undefined && x !== '').join(' - ')).join('; ') || 'Nilvera refused the document';

export class NilveraIntegrator implements EInvoiceIntegrator {
  readonly kind = 'nilvera' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
  ) {}

  private auth() {
    return { Authorization: `Bearer ${this.apiKey}`, Accept: 'application/json' };
  }

  async send(req: SendRequest, idempotencyKey: string): Promise<IntegratorAnswer> {
    const channel = channelOf(req.profile);
    const query = channel === 'einvoice' && req.recipientAlias ? `?${new URLSearchParams({ Alias: req.recipientAlias })}` : '';
    const form = new FormData();
    form.append('file', new Blob([req.xml], { type: 'application/xml' }), `${req.ettn}.xml`);
    const url = `${this.baseUrl}/${channel}/Send/Xml${query}`;
    const res = await fetchWithDeadline(url, { method: 'POST', headers: this.auth(), body: form }, this.timeoutMs);
    if (res.status === 401 || res.status === 403) throw new IntegratorAuthError(`Nilvera refused the API key (${res.status})`);
    if (res.status >= 500 || res.status === 429) throw new IntegratorTransportError(`POST ${url}: Nilvera answered ${res.status}`);
    const body = (await res.json().catch(() => null)) as (NilveraErrors & { UUID?: string; InvoiceNumber?: string }) | null;
    if (res.status >= 400) {
      // The same ETTN sent again (our retry after a lost answer): Nilvera already has it, so it
      // is not refused, it is where the first send left it.
      if (res.status === 409 || /already|mevcut|daha önce/i.test(errorText(body))) return this.status(idempotencyKey, req.profile);
      return { ettn: req.ettn, status: 'rejected', reason: errorText(body), raw: body };
    }
    // Taken: GİB's answer comes later (e-Fatura: the buyer's system; e-Arşiv: the daily report).
    return { ettn: body?.UUID ?? req.ettn, status: 'pending', raw: body };
  }

  async status(ettn: string, profile: Profile): Promise<IntegratorAnswer> {
    const channel = channelOf(profile);
    const url = `${this.baseUrl}/${channel}/${channel === 'earchive' ? 'Invoices' : 'Sale'}/${encodeURIComponent(ettn)}/Status`;
    const res = await fetchWithDeadline(url, { headers: this.auth() }, this.timeoutMs);
    if (res.status === 401 || res.status === 403) throw new IntegratorAuthError(`Nilvera refused the API key (${res.status})`);
    if (!res.ok) throw new IntegratorTransportError(`GET ${url}: Nilvera answered ${res.status}`);
    const body = (await res.json().catch(() => null)) as { StatusCode?: string; StatusDetail?: string; ReportStatus?: string; InvoiceStatus?: { Code?: string; Description?: string; DetailDescription?: string } } | null;
    const code = body?.InvoiceStatus?.Code ?? body?.StatusCode;
    const status = nilveraStatus(code);
    if (!status) throw new IntegratorTransportError(`GET ${url}: unknown Nilvera status ${String(code)}`);
    const reason = [body?.InvoiceStatus?.Description ?? body?.StatusDetail, body?.InvoiceStatus?.DetailDescription ?? body?.ReportStatus].filter(Boolean).join(' - ');
    return { ettn, status, ...(status === 'rejected' ? { reason: reason || 'Nilvera: error' } : {}), raw: body };
  }
}

export const nilveraRegistration: IntegratorRegistration = {
  kind: 'nilvera',
  label: 'Nilvera',
  docsUrl: NILVERA_DOCS,
  fields: [{ name: 'apiKey', label: 'einvoice:field.apiKey', secret: true, required: true }],
  check(values) {
    const out: Record<string, string> = {};
    const key = values.apiKey ?? '';
    if (!key) out.apiKey = msg('einvoice:error.required', { field: 'einvoice:field.apiKey' });
    // Nilvera's keys are persisted access tokens: 64 hexadecimal characters in its documentation's example.
    else if (!/^[A-Za-z0-9-_]{16,200}$/.test(key)) out.apiKey = msg('einvoice:error.nilveraKey');
    return out;
  },
  create(creds, opts) {
    return new NilveraIntegrator(NILVERA_URLS[opts.mode], creds.apiKey ?? '', opts.timeoutMs);
  },
};
