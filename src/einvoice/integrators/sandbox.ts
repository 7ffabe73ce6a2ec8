// The offline sandbox integrator's client: sends the XML to sandboxes/einvoice.ts (served by the
// app outside production under /sandbox/einvoice), which answers like an integrator: an ETTN and
// accepted, pending or rejected. docs/sandboxes.md says how to make it reject.
import { msg } from '../../lib/message';
import { fetchWithDeadline, IntegratorAuthError, IntegratorTransportError, type EInvoiceIntegrator, type IntegratorAnswer, type IntegratorRegistration, type SendRequest } from '../integrator';

export class SandboxIntegrator implements EInvoiceIntegrator {
  readonly kind = 'sandbox' as const;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
  ) {}

  private async answer(res: Response, what: string): Promise<IntegratorAnswer> {
    if (res.status === 401) throw new IntegratorAuthError(`${what}: the sandbox refused the API key`);
    if (res.status >= 500 || res.status === 429) throw new IntegratorTransportError(`${what}: sandbox answered ${res.status}`);
    const body = (await res.json().catch(() => null)) as { ettn?: string; status?: string; reason?: string } | null;
    if (!body || !body.ettn || !['accepted', 'pending', 'rejected'].includes(body.status ?? '')) throw new IntegratorTransportError(`${what}: unreadable sandbox answer (${res.status})`);
    return { ettn: body.ettn, status: body.status as IntegratorAnswer['status'], ...(body.reason ? { reason: body.reason } : {}), raw: body };
  }

  async send(req: SendRequest, idempotencyKey: string): Promise<IntegratorAnswer> {
    // The receiver's GİB mailbox travels beside the XML, as integrators take it (Nilvera: `?Alias=`).
    const query = req.recipientAlias ? `?${new URLSearchParams({ alias: req.recipientAlias })}` : '';
    const res = await fetchWithDeadline(`${this.baseUrl}/documents${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.apiKey}`, 'Idempotency-Key': idempotencyKey, 'Content-Type': 'application/xml; charset=utf-8' },
      body: req.xml,
    }, this.timeoutMs);
    return this.answer(res, `send ${req.number}`);
  }

  async status(ettn: string): Promise<IntegratorAnswer> {
    const res = await fetchWithDeadline(`${this.baseUrl}/documents/${encodeURIComponent(ettn)}`, { headers: { Authorization: `Bearer ${this.apiKey}` } }, this.timeoutMs);
    return this.answer(res, `status ${ettn}`);
  }
}

export const sandboxIntegratorRegistration: IntegratorRegistration = {
  kind: 'sandbox',
  label: 'Kontor e-invoice sandbox',
  fields: [{ name: 'apiKey', label: 'einvoice:field.apiKey', secret: true, required: true }],
  check(values, mode) {
    const out: Record<string, string> = {};
    if (!values.apiKey) out.apiKey = msg('einvoice:error.required', { field: 'einvoice:field.apiKey' });
    if (mode === 'production') out.mode = msg('einvoice:error.sandboxProduction');
    return out;
  },
  create(creds, opts) {
    if (opts.sandboxUrl === null) throw new IntegratorTransportError('the e-invoice sandbox is not served in production');
    return new SandboxIntegrator(`${opts.sandboxUrl}/sandbox/einvoice`, creds.apiKey ?? '', opts.timeoutMs);
  },
};
