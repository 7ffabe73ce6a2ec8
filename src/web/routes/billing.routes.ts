import { Router, type Request, type Response } from 'express';
import type { Scope } from '../../../db/schema';
import { buyerAccount } from '../../billing/accounts';
import { buyerNames } from '../../tenancy/buyer-names';
import { addBillingAddress, listBillingAddresses, updateBillingAddress } from '../../billing/billing-addresses.usecases';
import { listBillingPackages } from '../../catalog/billing-offers';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import { getInvoice, invoiceStatusLabel, listInvoices, listIssuedInvoices, recordBankTransfer } from '../../billing/invoices.usecases';
import { predictInvoice } from '../../billing/prediction';
import { termPrice, type TermMonths } from '../../billing/proration';
import {
  buyExtraSessions, cancelSubscription, changeSubscription, listSubscriptions, reactivateSubscription, refundTermSubscription, startSubscription,
} from '../../billing/subscriptions.usecases';
import type { Deps } from '../../deps';
import { addonModules } from '../../../db/schema';
import { roleAtLeast } from '../../auth/actor';
import { addChannel, addRepresentative, entitlementStatus, listChannels, listRepresentatives, removeChannel, removeRepresentative } from '../../entitlements/entitlements.usecases';
import { noun } from '../../entitlements/limits';
import { suspensionOf } from '../../suspension/suspension.usecases';
import { getWallet } from '../../wallets/wallets.usecases';
import { formatMoney } from '../../lib/money';
import { sendInvoicePdf } from '../api/billing.routes';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

const localeOf = (req: Request) => (req.user?.user.locale === 'tr' ? 'tr' : 'en');
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'string' && /^\d{1,6}$/.test(v.trim()) ? Number(v.trim()) : v);

/**
 * The buyer's invoice screens (DESIGN section 6): an agency's (what it buys from the platform)
 * on /agency/billing, a sub-account's (from its agency) on /portal/billing. Forms post to the
 * same use cases as the API; a refusal re-renders the page with its message, nothing changed.
 */
export function buyerBillingRoutes(deps: Deps, base: '/agency' | '/portal', scope: Scope): Router {
  const r = Router();
  r.use('/billing', requireUser(scope), billingOnly);
  const home = `${base}/billing`;

  const locals = async (req: Request) => {
    const actor = actorOf(req);
    const money = (minor: number, currency: string) => formatMoney(minor, currency, localeOf(req));
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
    const current = subs.filter((s) => s.status !== 'refunded' && s.periods.some((p) => p.throughDay === null || p.throughDay >= today) && (s.billing === 'monthly' || s.status === 'active'));
    return {
      title: 'Billing', money, account, today, base, subs: current, offers, entitlements, addresses, past, prediction, formatInvoiceNumber, invoiceStatusLabel,
      termPrice: (monthly: number, months: number) => termPrice(monthly, months as TermMonths), mainPackages: current.filter((s) => s.kind === 'package'),
      additional: current.filter((s) => s.kind !== 'package'),
      suspension, reps, channels, wallet, addonModules, noun, canManageTeam: roleAtLeast(actor, 'admin'),
    };
  };
  const form = (action: (req: Request, res: Response) => Promise<string>) =>
    formAction({
      view: 'billing/index',
      locals: (req) => locals(req),
      action: async (req, res) => {
        flash(req, await action(req, res));
        res.redirect(home);
      },
    });

  r.get('/billing', async (req, res) => {
    await page(res, 'billing/index', await locals(req));
  });
  r.post('/billing/subscriptions', form(async (req) => {
    const sub = await startSubscription(deps, { actor: actorOf(req), input: { packageId: str(req.body.packageId), quantity: req.body.quantity === undefined ? undefined : num(req.body.quantity) } });
    return sub.billing === 'term' ? `${sub.name} bought; its invoice has been issued and emailed.` : `${sub.name} started today; it is billed from today on your next invoice.`;
  }));
  r.post('/billing/subscriptions/:id/cancel', form(async (req) => {
    const sub = await cancelSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) });
    return `${sub.name} cancelled: billed through today, usable until today ends.`;
  }));
  r.post('/billing/subscriptions/:id/reactivate', form(async (req) => {
    const sub = await reactivateSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id) });
    return `${sub.name} reactivated: billed again from today.`;
  }));
  r.post('/billing/subscriptions/:id/change', form(async (req) => {
    const sub = await changeSubscription(deps, { actor: actorOf(req), subscriptionId: String(req.params.id), input: { packageId: str(req.body.packageId), ...(req.body.quantity ? { quantity: num(req.body.quantity) } : {}) } });
    return `Changed to ${sub.name} from ${sub.startDay}. Today the higher-priced of the two applies.`;
  }));
  r.post('/billing/extra-sessions', form(async (req) => {
    const c = await buyExtraSessions(deps, { actor: actorOf(req), input: { quantity: num(req.body.quantity) } });
    return `${(c.sessions ?? 0).toLocaleString('en-US')} extra sessions added; they can be used until the end of the month.`;
  }));
  r.post('/billing/representatives', form(async (req) => {
    const rep = await addRepresentative(deps, { actor: actorOf(req), input: { name: req.body.name, email: req.body.email } });
    return `${rep.name} added as a representative.`;
  }));
  r.post('/billing/representatives/:id/delete', form(async (req) => {
    const rep = await removeRepresentative(deps, { actor: actorOf(req), representativeId: String(req.params.id) });
    return `${rep.name} removed.`;
  }));
  r.post('/billing/channels', form(async (req) => {
    const ch = await addChannel(deps, { actor: actorOf(req), input: { type: req.body.type, name: req.body.name } });
    return `${ch.name} integrated.`;
  }));
  r.post('/billing/channels/:id/delete', form(async (req) => {
    const ch = await removeChannel(deps, { actor: actorOf(req), channelId: String(req.params.id) });
    return `${ch.name} removed.`;
  }));
  r.post('/billing/addresses', form(async (req) => {
    await addBillingAddress(deps, { actor: actorOf(req), input: req.body });
    return 'Billing address added.';
  }));
  r.post('/billing/addresses/:id', form(async (req) => {
    await updateBillingAddress(deps, { actor: actorOf(req), addressId: String(req.params.id), input: req.body });
    return 'Billing address saved.';
  }));

  r.get('/billing/upcoming', async (req, res) => {
    const actor = actorOf(req);
    const prediction = await predictInvoice(deps, { actor });
    const money = (minor: number, currency: string | null) => formatMoney(minor, currency ?? '', localeOf(req));
    const chart = { currency: prediction.currency, today: prediction.today, points: prediction.chart };
    await page(res, 'billing/upcoming', { title: 'Invoice prediction', prediction, money, base, chartJson: JSON.stringify(chart) });
  });
  r.get('/billing/invoices/:id', async (req, res) => {
    const inv = await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
    await page(res, 'billing/invoice', { title: `Invoice ${formatInvoiceNumber(inv.number)}`, inv, money: (m: number) => formatMoney(m, inv.currency, localeOf(req)), formatInvoiceNumber, invoiceStatusLabel, back: home, pdf: `${home}/invoices/${inv.id}/pdf` });
  });
  r.get('/billing/invoices/:id/pdf', async (req, res) => {
    await sendInvoicePdf(deps, res, await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) }));
  });
  return r;
}

/** A seller's issued invoices: the platform's to agencies, an agency's to its sub-accounts. */
export function sellerInvoiceRoutes(deps: Deps, base: '/platform' | '/agency', scope: Scope): Router {
  const r = Router();
  r.use('/invoices', requireUser(scope), billingOnly);
  const home = `${base}/invoices`;
  const locals = async (req: Request) => {
    const actor = actorOf(req);
    const issued = await listIssuedInvoices(deps, { actor });
    // People read the buyer's name, never its id: the view prints `accountId`, so it carries the
    // name here (accountName and accountHref for a view that links the client's page).
    const names = await buyerNames(deps, { actor, accountIds: issued.map((i) => i.accountId) });
    const invoices = issued.map((i) => {
      const accountName = names.get(i.accountId) ?? 'Unknown account';
      return { ...i, accountId: accountName, accountName, accountHref: scope === 'agency' ? `/agency/sub-accounts/${i.accountId}` : `/platform/agencies/${i.accountId}` };
    });
    return { title: 'Issued invoices', base, invoices, formatInvoiceNumber, invoiceStatusLabel, money: (m: number, c: string) => formatMoney(m, c, localeOf(req)) };
  };
  r.get('/invoices', async (req, res) => {
    await page(res, 'billing/issued', await locals(req));
  });
  r.post('/invoices/:id/mark-paid', formAction({
    view: 'billing/issued', locals,
    action: async (req, res) => {
      const inv = await recordBankTransfer(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
      flash(req, `Invoice ${formatInvoiceNumber(inv.number)} marked paid (bank transfer received).`);
      res.redirect(home);
    },
  }));
  r.post('/invoices/refund-term', formAction({
    view: 'billing/issued', locals,
    action: async (req, res) => {
      await refundTermSubscription(deps, { actor: actorOf(req), subscriptionId: str(req.body.subscriptionId), input: { reason: req.body.reason } });
      flash(req, 'Term purchase refunded; its invoice is voided (or marked refunded if it was paid).');
      res.redirect(home);
    },
  }));
  r.get('/invoices/:id', async (req, res) => {
    const inv = await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) });
    await page(res, 'billing/invoice', { title: `Invoice ${formatInvoiceNumber(inv.number)}`, inv, money: (m: number) => formatMoney(m, inv.currency, localeOf(req)), formatInvoiceNumber, invoiceStatusLabel, back: home, pdf: `${home}/${inv.id}/pdf` });
  });
  r.get('/invoices/:id/pdf', async (req, res) => {
    await sendInvoicePdf(deps, res, await getInvoice(deps, { actor: actorOf(req), invoiceId: String(req.params.id) }));
  });
  return r;
}
