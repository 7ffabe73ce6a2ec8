import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { requireBilling, requireRole } from '../../auth/policies';
import { requireReselling } from '../../catalog/resold-packages';
import { einvoiceViewOf, getEInvoiceAccount, saveEInvoiceAccount } from '../../einvoice/accounts';
import { integratorRegistrations } from '../../einvoice/integrators';
import { einvoiceStateOf, resendEInvoice } from '../../einvoice/send';
import { einvoiceBacklog, LEGAL_ISSUE_DAYS, sendEInvoiceBacklog } from '../../einvoice/backlog';
import { sellerTerms } from '../../billing/accounts';
import { formatCreditNoteNumber } from '../../billing/credit-note-numbers';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import { calendarDay } from '../../billing/proration';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/**
 * "e-Invoice integrator": a seller (the platform, or an agency) picks the integrator its invoices
 * go to GİB through and enters what the integrator gave it (linked from Payment systems). Needs
 * the billing permission; saving needs an admin. Secrets are never shown again. Also the seller's
 * "Send again" of a rejected e-invoice.
 */
export function einvoiceRoutes(deps: Deps, scope: 'platform' | 'agency'): Router {
  const r = Router();
  const sellerOf = (req: Request) => (scope === 'platform' ? null : actorOf(req).agencyId);
  const base = `/${scope}/einvoice`;
  const guard = async (req: Request, admin: boolean) => {
    const actor = actorOf(req);
    requireBilling(actor);
    if (admin) requireRole(actor, 'admin');
    if (scope === 'agency') await requireReselling(deps, actor);
  };

  /** Today in the seller's calendar (late backlog invoices are counted from it). */
  const sellerToday = async (req: Request) => calendarDay(deps.clock.now(), (await sellerTerms(deps.db, sellerOf(req))).zone);
  const locals = async (req: Request) => {
    await guard(req, false);
    const account = await getEInvoiceAccount(deps, sellerOf(req));
    const backlog = account ? await einvoiceBacklog(deps, sellerOf(req), await sellerToday(req)) : null;
    return { title: req.t('einvoice:title'), base, account: account ? einvoiceViewOf(account) : null, registrations: integratorRegistrations, backlog, lateDays: LEGAL_ISSUE_DAYS, formatInvoiceNumber, formatCreditNoteNumber };
  };
  r.get('/einvoice', requireUser(scope), async (req, res) => {
    await page(res, 'einvoice-settings', await locals(req));
  });
  r.post('/einvoice', requireUser(scope), formAction({
    view: 'einvoice-settings',
    locals,
    action: async (req, res) => {
      await guard(req, true);
      const saved = await saveEInvoiceAccount(deps, actorOf(req), sellerOf(req), req.body as Record<string, unknown>);
      const label = integratorRegistrations.find((x) => x.kind === saved.kind)?.label ?? saved.kind;
      flash(req, req.t('einvoice:flash.saved', { name: label, mode: req.t(`einvoice:mode.${saved.mode}`) }));
      res.redirect(base);
    },
  }));
  // "Send these": every invoice issued with tax and never sent to GİB, queued as the send job (src/einvoice/backlog.ts).
  r.post('/einvoice/backlog', requireUser(scope), async (req, res) => {
    await guard(req, true);
    const sent = await sendEInvoiceBacklog(deps, actorOf(req), sellerOf(req), await sellerToday(req));
    flash(req, sent.invoices + sent.creditNotes > 0 ? req.t('einvoice:flash.backlogSent', sent) : req.t('einvoice:flash.backlogNone'));
    res.redirect(base);
  });
  r.post('/invoices/:id/einvoice/resend', requireUser(scope), async (req, res) => {
    await guard(req, false);
    const id = String(req.params.id);
    await resendEInvoice(deps, actorOf(req), sellerOf(req), { kind: 'invoice', id });
    flash(req, req.t('einvoice:flash.resent'));
    res.redirect(`/${scope}/invoices/${encodeURIComponent(id)}`);
  });
  return r;
}

/**
 * The locals of views/partials/einvoice-status.ejs for an invoice page: its state, and where the
 * seller sends a rejected one again (null for buyers). The caller has loaded the invoice for the
 * actor (scoped), so its id is trusted here.
 */
export async function einvoicePartialLocals(deps: Deps, invoiceId: string, seller: 'platform' | 'agency' | null) {
  return {
    state: await einvoiceStateOf(deps.db, { kind: 'invoice', id: invoiceId }),
    resendAction: seller ? `/${seller}/invoices/${encodeURIComponent(invoiceId)}/einvoice/resend` : null,
  };
}
