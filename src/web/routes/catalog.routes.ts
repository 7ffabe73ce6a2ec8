import { checkoutQuoter } from '../../billing/checkout-amount';
import { offerRates } from '../../billing/invoice-issue';
import { chatbotSlotOffer } from '../../catalog/offers';
import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  chatbotSlotPrice, createPlan, createTopupPackage, listAgencyOrders, listPlans, listTopupPackages, setChatbotSlotPrice, startAgencyOrder,
} from '../../catalog/catalog.usecases';
import { listBillingPackages } from '../../catalog/billing-offers';
import { addonModules, currencies, quantityUnits } from '../../../db/schema';
import { createBilledOffer } from './offers.routes';
import type { Deps } from '../../deps';
import { moneyField } from '../../lib/money';
import { parse } from '../../lib/validation';
import type { WebContext } from '../app';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';
import { sellerCheckout } from '../../payments/checkout-flow';

/** A count typed in a form; the message is a catalog key naming the field. */
const wholeNumber = (field: 'credits' | 'includedChatbots' | 'monthlyCredits') => z.string().trim().regex(/^\d{1,10}$/, `catalog:error.whole.${field}`).transform(Number);

/** Platform admin: the catalog agencies buy from (its packages and prices: a billing screen). */
export function platformCatalogRoutes(deps: Deps): Router {
  const r = Router();
  r.use('/catalog', requireUser('platform'), billingOnly);
  const locals = async (req: Request) => {
    const buyersOnly = req.query.view === 'buyers';
    const billed = (await listBillingPackages(deps, { actor: actorOf(req) })).filter((p) => !buyersOnly || p.published);
    const plans = (await listPlans(deps)).filter((p) => !buyersOnly || p.published);
    return {
      title: req.t('nav:catalog'), money: req.fmt.money, topups: await listTopupPackages(deps), plans, slotPrice: await chatbotSlotPrice(deps), billed, buyersOnly, offerActions: buyersOnly ? null : '/platform/offers',
      billedAction: '/platform/catalog/billed', addonModules, quantityUnits, currencies,
    };
  };
  r.get('/catalog', async (req, res) => {
    await page(res, 'platform/catalog', await locals(req));
  });
  r.post('/catalog/billed', formAction({
    view: 'platform/catalog', locals,
    action: async (req, res) => {
      flash(req, await createBilledOffer(deps, req));
      res.redirect('/platform/catalog');
    },
  }));
  r.post('/catalog/topups', formAction({
    view: 'platform/catalog', locals,
    action: async (req, res) => {
      const form = parse(z.object({ credits: wholeNumber('credits'), price: moneyField('Price'), currency: z.string() }), req.body);
      await createTopupPackage(deps, { actor: actorOf(req), input: { credits: form.credits, priceMinor: form.price, currency: form.currency } });
      flash(req, 'catalog:flash.topupCreated');
      res.redirect('/platform/catalog');
    },
  }));
  r.post('/catalog/plans', formAction({
    view: 'platform/catalog', locals,
    action: async (req, res) => {
      const b = req.body as Record<string, string>;
      const form = parse(z.object({ price: moneyField('Price'), includedChatbots: wholeNumber('includedChatbots'), monthlyCredits: wholeNumber('monthlyCredits') }), b);
      await createPlan(deps, { actor: actorOf(req), input: { code: b.code, name: b.name, resellingModule: b.resellingModule, currency: b.currency, priceMinor: form.price, includedChatbots: form.includedChatbots, monthlyCredits: form.monthlyCredits } });
      flash(req, 'catalog:flash.planCreated');
      res.redirect('/platform/catalog');
    },
  }));
  r.post('/catalog/chatbot-slot-price', formAction({
    view: 'platform/catalog', locals,
    action: async (req, res) => {
      const form = parse(z.object({ slotPrice: moneyField('Price'), currency: z.string() }), req.body);
      await setChatbotSlotPrice(deps, { actor: actorOf(req), input: { priceMinor: form.slotPrice, currency: form.currency } });
      flash(req, 'catalog:flash.slotPriceSaved');
      res.redirect('/platform/catalog');
    },
  }));
  return r;
}

/** Agency: buy credits into the pool and chatbot slots from the platform. */
export function agencyStoreRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.use('/store', requireUser('agency'), billingOnly);
  const locals = async (req: Request) => {
    const topups = await listTopupPackages(deps);
    const slotPrice = await chatbotSlotPrice(deps);
    // Each price as its checkout will charge it (one unit): net + tax when the platform's prices exclude tax.
    const quote = await checkoutQuoter(deps.db, { agencyId: actorOf(req).agencyId!, subAccountId: null });
    const slot = await chatbotSlotOffer(deps.db);
    const rates = await offerRates(deps.db, topups.map((t) => t.id));
    return {
      title: req.t('nav:buyCredits'),
      money: req.fmt.money,
      topups,
      topupPrices: Object.fromEntries(topups.map((t) => [t.id, quote(t.priceMinor, rates.get(t.id) ?? null)])),
      slotPrice,
      slotAmount: quote(slotPrice.priceMinor, slot?.version.taxRateBp ?? null),
      orders: await listAgencyOrders(deps, { actor: actorOf(req) }),
    };
  };
  r.get('/store', async (req, res) => {
    await page(res, 'agency/store', await locals(req));
  });
  r.post('/store/orders', formAction({
    view: 'agency/store', locals,
    action: async (req, res) => {
      const b = req.body as Record<string, string>;
      const quantity = /^\d{1,4}$/.test(String(b.quantity ?? '1')) ? Number(b.quantity ?? 1) : b.quantity;
      const { next } = await startAgencyOrder(deps, { actor: actorOf(req), input: { kind: b.kind, topupPackageId: b.topupPackageId, quantity }, gateway: await sellerCheckout(deps, web.payLinks, web.gateway, null) });
      res.redirect(next.kind === 'redirect' ? next.url : '/agency/store');
    },
  }));
  return r;
}
