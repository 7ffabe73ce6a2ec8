import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { requireBilling } from '../../auth/policies';
import { collectionSettingsView, dayListFromText, updateCollectionSettings } from '../../collections/collection-settings';
import { OVERDUE_INVOICES_TO_SUSPEND } from '../../suspension/suspension.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/**
 * "Reminders and card retries": a seller's collection schedules (the platform's for agencies at
 * /platform/settings/collections, an agency's for its clients at /agency/settings/collections).
 * Read with the billing permission; saved by an admin with it (the use case checks both).
 */
export function collectionSettingsRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  const path = '/settings/collections';
  const base = `/${scope}${path}`;
  r.use(path, requireUser(scope));
  const locals = async (req: Request) => {
    const actor = actorOf(req);
    requireBilling(actor);
    return { title: req.t('collections:title'), base, view: await collectionSettingsView(deps, actor), minToSuspend: OVERDUE_INVOICES_TO_SUSPEND, canSave: actor.role !== 'member' };
  };
  r.get(path, async (req, res) => {
    await page(res, 'collections/settings', await locals(req));
  });
  r.post(path, formAction({
    view: 'collections/settings',
    locals,
    action: async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      await updateCollectionSettings(deps, { actor: actorOf(req), input: { reminderDays: dayListFromText(body.reminderDays), retryDays: dayListFromText(body.retryDays) } });
      flash(req, 'collections:flash.saved');
      res.redirect(base);
    },
  }));
  return r;
}
