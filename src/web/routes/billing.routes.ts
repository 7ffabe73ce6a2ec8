import { einvoicePartialLocals } from './einvoice.routes';
import { Router, type Request, type Response } from 'express';
import type { Scope } from '../../../db/schema';
import { buyerAccount } from '../../billing/accounts';
import { buyerNames } from '../../tenancy/buyer-names';
import { addBillingAddress, listBillingAddresses, updateBillingAddress } from '../../billing/billing-addresses.usecases';
import { getBillingPackage, listBillingPackages, type BillingPackage } from '../../catalog/billing-offers';
import { AppError } from '../../lib/errors';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import { invoiceTaxView, rateLabel } from '../../billing/invoice-view';
import { getInvoice, listInvoices, listIssuedInvoices, overdueDays, recordBankTransfer, type Invoice } from '../../billing/invoices.usecases';
import { sellerTerms } from '../../billing/accounts';
import { calendarDay } from '../../billing/proration';
import { predictInvoice } from '../../billing/prediction';
import { termPrice, type TermMonths } from '../../billing/proration';
import {
  buyExtraSessions, cancelSubscription, changeSubscription, listSubscriptions, reactivateSubscription, refundTermSubscription, sameFamily, startSubscription,
} from '../../billing/subscriptions.usecases';
import type { Deps } from '../../deps';
import { addonModules } from '../../../db/schema';
import { roleAtLeast } from '../../auth/actor';
import { addChannel, addRepresentative, entitlementStatus, listChannels, listRepresentatives, removeChannel, removeRepresentative } from '../../entitlements/entitlements.usecases';
import { OVERDUE_INVOICES_TO_SUSPEND, suspensionOf } from '../../suspension/suspension.usecases';
import { getWallet } from '../../wallets/wallets.usecases';
import { sendInvoicePdf } from '../api/billing.routes';
import { invoiceCollectionLog } from '../../collections/card-retries';
import { listCreditNotes, listIssuedCreditNotes } from '../../billing/credit-notes.usecases';
import { creditNotePageRoutes, creditNoteRows, flashIssued, invoiceCredit, issueCreditNoteFromForm } from './credit-notes.routes';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/** An invoice's status as read on its page: "Overdue by N days" in its seller's calendar. */
function invoiceStatusOf(deps: Deps) {
  return async (inv: Invoice) => {
    const today = calendarDay(deps.clock.now(), (await sellerTerms(deps.db, inv.sellerAgencyId)).zone);
    const overdueBy = overdueDays(inv, today);
    return { overdueBy, overdue: overdueBy > 0 };
  };
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'string' && /^\d{1,6}$/.test(v.trim()) ? Number(v.trim()) : v);

/**
 * The buyer's invoice screens (DESIGN section 6): an agency's (what it buys from the platform)
 * on /agency/billing, a sub-account's (from its agency) on /portal/billing. Forms post to the
 * same use cases as the API; a refusal re-renders the page with its message, nothing changed.
 */
export function buyerBillingRoutes(deps: Deps, base: '/agency' | '/portal', scope: Scope): Router {
  const r = Router();
  const statusOf = invoiceStatusOf(deps);
  r.use('/billing', requireUser(scope), billingOnly);
  const home = `${base}/billing`;

  const locals = async (req: Request) => {
    const actor = actorOf(req);
    const money = (minor: number, currency: string) => req.fmt.money(minor, currency);
    const account = await buyerAccount(deps.db, actor);
    const [subs, offers, entitlements, addresses, past, prediction, suspension, reps, channels, wallet] = await Promise.all([
      listSubscriptions(deps, { actor }),
      listBillingPackages(deps, { actor, asBuyer: true }),
      entitlementStatus(deps, account),
      listBillingAddresses(deps, { actor }),
      listInvoices(deps, { actor }),
      predictInvoice(deps, { actor }),
      suspensionOf(deps, account),
      listRepresentatives(deps, { actor }),
      listChannels(deps, { actor }),
      getWallet(deps, actor),
    ]);
    const today = entitlements.day;
    // Days overdue are counted in the seller's calendar: `today` is the day in the seller's zone.
    const overdue = past.filter((i) => overdueDays(i, today) > 0);
    const overdueTotal = [...overdue.reduce((m, i) => m.set(i.currency, (m.get(i.currency) ?? 0) + i.totalMinor), new Map<string, number>())].map(([currency, minor]) => ({ currency, minor }));
    const creditNotes = creditNoteRows(req, await listCreditNotes(deps, { actor }), { note: (id) => `${home}/credit-notes/${id}`, invoice: (id) => `${home}/invoices/${id}` });
    const current = subs.filter((s) => s.status !== 'refunded' && s.periods.some((p) => p.throughDay === null || p.throughDay >= today) && (s.billing === 'monthly' || s.status === 'active'));
    return {
      title: req.t('billing:title'), money, account, today, base, subs: current, creditNotes, offers, entitlements, addresses, past, prediction, formatInvoiceNumber,
      termPrice: (monthly: number, months: number) => termPrice(monthly, months as TermMonths), mainPackages: current.filter((s) => s.kind === 'package'),
      additional: current.filter((s) => s.kind !== 'package'),
      suspension, reps, channels, wallet, addonModules, canManageTeam: roleAtLeast(actor, 'admin'),
      overdue, overdueTotal, overdueDays: (i: Invoice) => overdueDays(i, today),
      // A suspended account pays and manages cards and addresses; the buying forms are not shown.
      canBuy: !suspension.suspended, overdueToSuspend: OVERDUE_INVOICES_TO_SUSPEND,
      // A term offer whose monthly version the buyer holds: its card says it switches (after a confirmation).
      switchesFrom: (o: BillingPackage) => (o.billing === 'term' ? current.filter((s) => s.billing === 'monthly' && s.status === 'active' && sameFamily(s, o)).map((s) => s.name) : []),
    };
  };
  /** A billing form: the action's message is flashed on the billing page (null: it answered itself). */
  const form = (action: (req: Request, res: Response) => Promise<string | null>) => {
    const handle = formAction({
      view: 'billing/index',
      locals: (req) => locals(req),
      action: async (req, res) => {
        const message = await action(req, res);
        if (message === null) return;
        flash(req, message);
        res.redirect(home);
      },
    });
    return async (req: Request, res: Response) => {
      try {
        await handle(req, res);
      } catch (err) {
        // A suspended account's refusal (403) is shown on the billing page, with what lifts it.
        if (!(err instanceof AppError && err.code === 'account_suspended')) throw err;
        await page(res, 'billing/index', { ...(await locals(req)), formError: err.message }, err.status);
      }
    };
  };

  r.get('/billing', async (req, res) => {
    await page(res, 'billing/index', await locals(req));
  });
  r.post('/billing/subscriptions', form(async (req, res) => {
    const actor = actorOf(req);
    const input = { packageId: str(req.body.packageId), quantity: req.body.quantity === undefined ? undefined : num(req.body.quantity), confirmSwitch: req.body.confirmSwitch === 'on' };
    let sub;
    try {
      sub = await startSubscription(deps, { actor, input });
    } catch (err) {
      // A term of a package held monthly: the switch is confirmed on its own page first.
      if (!(err instanceof AppError && err.code === 'switch_confirmation_required')) throw err;
      const pkg = await getBillingPackage(deps, { actor, packageId: input.packageId });
      const details = err.details as { replaces: { name: string; quantity: number; endsOn: string }[]; startsOn: string };
      await page(res, 'billing/confirm-switch', {
        title: req.t('billing:switch.pageTitle'), base, pkg, replaces: details.replaces, startsOn: details.startsOn, quantity: str(req.body.quantity),
        money: (minor: number, currency: string) => req.fmt.money(minor, currency), termPrice: (m: number, n: number) => termPrice(m, n as TermMonths),
      }, 409);
      return null;
    }
    if (sub.billing === 'term' && sub.changedFromId) return req.t('billing:flash.termSwitched', { name: sub.name });
    return req.t(sub.billing === 'term' ? 'billing:flash.termBought' : 'billing:flash.started', { name: sub.name });
  }));
  r.post('/billing/subscriptions/:id/cancel', form(async (req) => {
    const sub = await cancelSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) });
    return req.t('billing:flash.cancelled', { name: sub.name });
  }));
  r.post('/billing/subscriptions/:id/reactivate', form(async (req) => {
    const sub = await reactivateSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) });
    return req.t('billing:flash.reactivated', { name: sub.name });
  }));
  r.post('/billing/subscriptions/:id/change', form(async (req) => {
    const sub = await changeSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id), input: { packageId: str(req.body.packageId), ...(req.body.quantity ? { quantity: num(req.body.quantity) } : {}) } });
    return req.t('billing:flash.changed', { name: sub.name, date: req.fmt.day(sub.startDay) });
  }));
  r.post('/billing/extra-sessions', form(async (req) => {
    const c = await buyExtraSessions(deps, { actor: actorOf(req), input: { quantity: num(req.body.quantity) } });
    return req.t('billing:flash.extraSessions', { n: req.fmt.number(c.sessions ?? 0) });
  }));
  r.post('/billing/representatives', form(async (req) => {
    const rep = await addRepresentative(deps, { actor: actorOf(req), input: { name: req.body.name, email: req.body.email } });
    return req.t('billing:flash.representativeAdded', { name: rep.name });
  }));
  r.post('/billing/representatives/:id/delete', form(async (req) => {
    const rep = await removeRepresentative(deps, { actor: actorOf(req), representativeId: String(req.params.id) });
    return req.t('billing:flash.removed', { name: rep.name });
  }));
  r.post('/billing/channels', form(async (req) => {
    const ch = await addChannel(deps, { actor: actorOf(req), input: { type: req.body.type, name: req.body.name } });
    return req.t('billing:flash.channelAdded', { name: ch.name });
  }));
  r.post('/billing/channels/:id/delete', form(async (req) => {
    const ch = await removeChannel(deps, { actor: actorOf(req), channelId: String(req.params.id) });
    return req.t('billing:flash.removed', { name: ch.name });
  }));
  r.post('/billing/addresses', form(async (req) => {
    await addBillingAddress(deps, { actor: actorOf(req), input: req.body });
    return 'billing:flash.addressAdded';
  }));
  r.post('/billing/addresses/:id', form(async (req) => {
    await updateBillingAddress(deps, { actor: actorOf(req), addressId: String(req.params.id), input: req.body });
    return 'billing:flash.addressSaved';
  }));

  r.get('/billing/upcoming', async (req, res) => {
    const actor = actorOf(req);
    const prediction = await predictInvoice(deps, { actor });
    const money = (minor: number, currency: string | null) => req.fmt.money(minor, currency ?? '');
    const labels = { soFar: req.t('billing:upcoming.chartSoFar'), estimate: req.t('billing:upcoming.chartEstimate') };
    const chart = { currency: prediction.currency, today: prediction.today, points: prediction.chart, labels };
    await page(res, 'billing/upcoming', { title: req.t('billing:upcoming.title'), prediction, money, base, chartJson: JSON.stringify(chart), rateOf: (bp: number) => rateLabel(bp, req.lang) });
  });
  r.get('/billing/invoices/:id', async (req, res) => {
    const inv = await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
    await page(res, 'billing/invoice', { title: req.t('billing:invoice.title', { number: formatInvoiceNumber(inv.number) }), inv, tax: invoiceTaxView(inv, req.t, req.lang), ...(await statusOf(inv)), money: (m: number) => req.fmt.money(m, inv.currency), formatInvoiceNumber, back: home, pdf: `${home}/invoices/${inv.id}/pdf`, collection: await invoiceCollectionLog(deps, { actor: actorOf(req), invoiceId: inv.id }), ...(await invoiceCredit(deps, req, inv, { noteHref: (id) => `${home}/credit-notes/${id}` })), einvoice: await einvoicePartialLocals(deps, inv.id, null) });
  });
  r.get('/billing/invoices/:id/pdf', async (req, res) => {
    await sendInvoicePdf(deps, res, await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) }));
  });
  r.use(creditNotePageRoutes(deps, { base, scope, prefix: '/billing/credit-notes', invoiceHref: (id) => `${home}/invoices/${id}`, back: home }));
  return r;
}

/** A seller's issued invoices: the platform's to agencies, an agency's to its sub-accounts. */
/** Issued invoices shown per page (the agency with 10,000 clients issues 10,000 a month). */
const ISSUED_PAGE = 50;

export function sellerInvoiceRoutes(deps: Deps, base: '/platform' | '/agency', scope: Scope): Router {
  const r = Router();
  const statusOf = invoiceStatusOf(deps);
  r.use('/invoices', requireUser(scope), billingOnly);
  const home = `${base}/invoices`;
  const locals = async (req: Request) => {
    const actor = actorOf(req);
    // A page at a time, newest first; "older" continues after the page's last invoice.
    const before = typeof req.query.before === 'string' && req.query.before ? req.query.before : undefined;
    const [rows, terms] = await Promise.all([
      listIssuedInvoices(deps, { actor, limit: ISSUED_PAGE + 1, ...(before ? { before } : {}) }),
      sellerTerms(deps.db, actor.scope === 'platform' ? null : actor.agencyId),
    ]);
    const issued = rows.slice(0, ISSUED_PAGE);
    const older = rows.length > ISSUED_PAGE ? `${home}?before=${encodeURIComponent(issued[issued.length - 1]!.id)}` : null;
    // People read the buyer's name, never its id: the view prints `accountId`, so it carries the
    // name here (accountName and accountHref for a view that links the client's page).
    // The newest credit notes above the first page (docs/credit-notes.md).
    const notes = before ? [] : await listIssuedCreditNotes(deps, { actor, limit: ISSUED_PAGE });
    const names = await buyerNames(deps, { actor, accountIds: [...new Set([...issued.map((i) => i.buyerId), ...notes.map((c) => c.buyerId)])] });
    const creditNotes = creditNoteRows(req, notes, { note: (id) => `${base}/credit-notes/${id}`, invoice: (id) => `${home}/${id}` }, names);
    const invoices = issued.map((i) => {
      const accountName = names.get(i.buyerId) ?? req.t('billing:issued.unknownAccount');
      return { ...i, accountId: accountName, accountName, accountHref: scope === 'agency' ? `/agency/sub-accounts/${i.buyerId}` : `/platform/agencies/${i.buyerId}` };
    });
    // The seller's own calendar: an invoice is overdue from the day after its due day there.
    const today = calendarDay(deps.clock.now(), terms.zone);
    return {
      title: req.t('billing:issued.title'), base, invoices, creditNotes, formatInvoiceNumber, older, newest: before ? home : null,
      overdueDays: (i: Invoice) => overdueDays(i, today),
      money: (m: number, c: string) => req.fmt.money(m, c),
    };
  };
  r.get('/invoices', async (req, res) => {
    await page(res, 'billing/issued', await locals(req));
  });
  r.post('/invoices/:id/mark-paid', formAction({
    view: 'billing/issued', locals,
    action: async (req, res) => {
      const inv = await recordBankTransfer(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
      flash(req, req.t('billing:flash.markedPaid', { number: formatInvoiceNumber(inv.number) }));
      res.redirect(home);
    },
  }));
  r.post('/invoices/refund-term', formAction({
    view: 'billing/issued', locals,
    action: async (req, res) => {
      await refundTermSubscription(deps, { actor: actorOf(req), subscriptionId: str(req.body.subscriptionId), input: { reason: req.body.reason } });
      flash(req, 'billing:flash.termRefunded');
      res.redirect(home);
    },
  }));
  // The seller's page of one invoice: its lines and tax, reminders and card retries
  // (views/billing/_collection.ejs), credit notes and the form to issue one, the e-invoice state.
  const invoicePageLocals = async (req: Request, inv: Awaited<ReturnType<typeof getInvoice>>) => ({
    title: req.t('billing:invoice.title', { number: formatInvoiceNumber(inv.number) }), inv, tax: invoiceTaxView(inv, req.t, req.lang), ...(await statusOf(inv)),
    money: (m: number) => req.fmt.money(m, inv.currency), formatInvoiceNumber, back: home, pdf: `${home}/${inv.id}/pdf`,
    collection: await invoiceCollectionLog(deps, { actor: actorOf(req), invoiceId: inv.id }), collectionSettingsHref: `${base}/settings/collections`,
    ...(await sellerCredit(req, inv)), einvoice: await einvoicePartialLocals(deps, inv.id, scope === 'platform' ? 'platform' : 'agency'),
  });
  r.get('/invoices/:id', async (req, res) => {
    const inv = await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
    await page(res, 'billing/invoice', await invoicePageLocals(req, inv));
  });
  // The seller's admin credits chosen lines of the invoice; a refusal shows on the invoice's page, the form kept.
  const sellerCredit = (req: Request, inv: Awaited<ReturnType<typeof getInvoice>>) => invoiceCredit(deps, req, inv, { noteHref: (id) => `${base}/credit-notes/${id}`, formAction: `${home}/${inv.id}/credit-notes` });
  r.post('/invoices/:id/credit-notes', formAction({
    view: 'billing/invoice',
    locals: async (req) => {
      const inv = await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
      return { ...(await invoicePageLocals(req, inv)), creditOpen: true };
    },
    action: async (req, res) => {
      const note = await issueCreditNoteFromForm(deps, req, String(req.params.id));
      flashIssued(req, note.number);
      res.redirect(`${base}/credit-notes/${note.id}`);
    },
  }));
  r.use(creditNotePageRoutes(deps, { base, scope, prefix: '/credit-notes', invoiceHref: (id) => `${home}/${id}`, back: home }));
  r.get('/invoices/:id/pdf', async (req, res) => {
    await sendInvoicePdf(deps, res, await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) }));
  });
  return r;
}
