// A seller's e-invoice integrator through the API: the same use case, validation, sealing and
// "secrets are never shown again" as the e-Invoice integrator page.
import { Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../../auth/policies';
import type { Deps } from '../../deps';
import { einvoiceViewOf, getEInvoiceAccount, saveEInvoiceAccount, type EInvoiceAccountView } from '../../einvoice/accounts';
import { integratorRegistrations } from '../../einvoice/integrators';
import type { EInvoiceDocumentRow } from '../../einvoice/send';
import { parse } from '../../lib/validation';
import { actorOf } from '../middleware';
import { sellerOfCaller } from './seller';

const TOO_LONG = 'einvoice:error.tooLong';
const field = (max: number) => z.string({ error: 'einvoice:error.text' }).max(max, TOO_LONG);
export const integratorBodySchema = z.object({
  kind: z.string({ error: 'einvoice:error.kind' }).max(40, TOO_LONG),
  mode: field(20).optional(),
  invoiceSeries: field(10).optional(),
  creditNoteSeries: field(10).optional(),
  commercial: z.union([z.boolean(), z.enum(['yes', 'no'])], { error: 'einvoice:error.commercial' }).optional(),
  apiKey: field(400).optional(),
}, { error: 'einvoice:error.body' });


/** An issued document's e-invoice state in API answers (null: not sent through an integrator). */
export function einvoiceStateJson(row: EInvoiceDocumentRow | null) {
  return row && {
    status: row.status, ettn: row.uuid, number: row.number, profile: row.profile, integrator: row.integrator,
    error: row.error, attempts: row.attempts, sentAt: row.sentAt?.toISOString() ?? null, acceptedAt: row.acceptedAt?.toISOString() ?? null,
  };
}

export function einvoiceApiRoutes(deps: Deps): Router {
  const r = Router();
  const json = (v: EInvoiceAccountView | null) =>
    v && { kind: v.kind, mode: v.mode, invoiceSeries: v.invoiceSeries, creditNoteSeries: v.creditNoteSeries, commercial: v.commercial, secretHints: v.secretHints, updatedAt: v.updatedAt.toISOString() };
  const available = integratorRegistrations.map((g) => ({ kind: g.kind, label: g.label, docsUrl: g.docsUrl ?? null, fields: g.fields.map((f) => ({ name: f.name, secret: f.secret, required: f.required })) }));

  r.get('/einvoice-integrator', async (req, res) => {
    const account = await getEInvoiceAccount(deps, await sellerOfCaller(deps, req));
    res.json({ integrator: json(account ? einvoiceViewOf(account) : null), available });
  });
  r.put('/einvoice-integrator', async (req, res) => {
    const seller = await sellerOfCaller(deps, req);
    requireRole(actorOf(req), 'admin');
    const input = parse(integratorBodySchema, req.body ?? {});
    const commercial = input.commercial === undefined ? undefined : input.commercial === true || input.commercial === 'yes' ? 'yes' : 'no';
    const saved = await saveEInvoiceAccount(deps, actorOf(req), seller, { ...input, commercial });
    res.json({ integrator: json(saved), available });
  });
  return r;
}
