import { Router, type Request } from 'express';
import { invoiceCollectionLog, type InvoiceCollectionLog } from '../../collections/card-retries';
import { collectionSettingsView, updateCollectionSettings, type CollectionSettingsView } from '../../collections/collection-settings';
import type { Deps } from '../../deps';
import type { Translate } from '../../i18n/i18n';
import { actorOf } from '../middleware';
import type * as A from './schemas';
import type { Answer } from './schemas';
import { apiT, apiText } from './text';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const collectionSettingsJson = (v: CollectionSettingsView): Answer<typeof A.CollectionSettings> => ({
  reminderDays: v.reminderDays, retryDays: v.retryDays, custom: v.custom, cardRetriesPossible: v.cardRetriesPossible,
});

export const invoiceCollectionJson = (invoiceId: string, log: InvoiceCollectionLog, t: Translate): Answer<typeof A.InvoiceCollection> => ({
  invoiceId,
  reminders: log.reminders.map((r) => ({ offsetDays: r.step, day: r.day, sentAt: r.sentAt.toISOString() })),
  chargeAttempts: log.attempts.map((a) => ({
    attemptNo: a.attemptNo, daysAfterDue: a.daysAfterDue, day: a.day, status: a.status, card: apiText(t, a.cardLabel), paymentId: a.paymentId,
    gatewayReference: a.gatewayReference, error: apiText(t, a.error), createdAt: a.createdAt.toISOString(), completedAt: a.completedAt?.toISOString() ?? null,
  })),
});

/** A seller's collection schedules (platform and agency keys), and an invoice's collection log (its buyer and its seller). */
export function collectionApiRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/collection-settings', async (req, res) => {
    res.json(collectionSettingsJson(await collectionSettingsView(deps, actorOf(req))));
  });
  r.put('/collection-settings', async (req, res) => {
    const actor = actorOf(req);
    await updateCollectionSettings(deps, { actor, input: body(req) });
    res.json(collectionSettingsJson(await collectionSettingsView(deps, actor)));
  });
  r.get('/invoices/:id/collection', async (req, res) => {
    const invoiceId = String(req.params.id);
    res.json(invoiceCollectionJson(invoiceId, await invoiceCollectionLog(deps, { actor: actorOf(req), invoiceId }), apiT(req)));
  });
  return r;
}
