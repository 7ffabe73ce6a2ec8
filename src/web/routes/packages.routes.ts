import { checkoutQuoter } from '../../billing/checkout-amount';
import { offerRates } from '../../billing/invoice-issue';
import { Router, type Request } from 'express';
import { currencies, purchaseStatuses } from '../../../db/schema';
import type { Actor } from '../../auth/actor';
import { getBalance } from '../../credits/credits.usecases';
import { listDepartments } from '../../departments/departments.usecases';
import type { Deps } from '../../deps';
import { localize } from '../../i18n/i18n';
import { AppError, errors, ValidationError, type FieldErrors } from '../../lib/errors';
import { parseMoneyToMinor } from '../../lib/money';
import { fieldErrors } from '../../lib/validation';
import {
  createPackage, createPackageSchema, getPackage, listPackages, updatePackage, type PackageView,
} from '../../catalog/resold-packages';
import { listBillingPackages } from '../../catalog/billing-offers';
import { poolCoverage } from '../../catalog/offers';
import { addonModules, quantityUnits } from '../../../db/schema';
import { createBilledOffer, poolWarning, withWarning } from './offers.routes';
import { resellingGate } from './reselling-gate';
import { holdings, listPurchases, startPurchase } from '../../purchases/purchases.usecases';
import { getCheckout } from '../../payments/checkout';
import { settleAnyPayment } from '../../payments/settlement';
import { listSubAccounts } from '../../tenancy/sub-accounts.usecases';
import type { WebContext } from '../app';
import { actorOf, billingOnly, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';
import { sellerCheckout } from '../../payments/checkout-flow';


// ---------------------------------------------------------------------------------------------
// Form parsing: HTML forms send strings; the use cases take numbers. Money never goes through a
// float: "199.90" is split into whole and fraction digits and combined as integers.


/** "199.90" (or "199,90") -> 19990 minor units; a string is the message for the form. */
/** 19990 -> "199.90", for the edit form (integer arithmetic only). */
export function minorToDecimal(minor: number): string {
  return `${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

const formKey = (key: string) => (key === 'priceMinor' ? 'price' : key.split('.')[0]!);

/** Use-case field names (priceMinor, departmentIds.0) -> the form's (price, departmentIds). */
function toFormErrors(err: ValidationError): ValidationError {
  const fields: FieldErrors = {};
  for (const [k, v] of Object.entries(err.fields)) fields[formKey(k)] ??= v;
  return new ValidationError(fields, err.message);
}

/** Purchases shown per page on the agency's purchases page. */
const PURCHASES_PAGE = 50;
const listOf = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** The package form -> createPackage/updatePackage input; every field's problem is reported at once. */
export function packageInput(body: unknown): Record<string, unknown> {
  const b = (body ?? {}) as Record<string, unknown>;
  const text = (k: string) => (typeof b[k] === 'string' ? (b[k] as string).trim() : '');
  const fields: FieldErrors = {};
  const count = (k: 'credits' | 'chatbots', blank?: number): number | undefined => {
    const s = text(k);
    if (s === '' && blank !== undefined) return blank;
    if (!/^\d{1,13}$/.test(s)) {
      fields[k] = `catalog:error.wholeNumber.${k}`;
      return undefined;
    }
    return Number(s);
  };
  const price = parseMoneyToMinor(b.price);
  if (typeof price === 'string') fields.price = price;
  const type = text('type');
  let termMonths: number | null = null;
  if (type === 'subscription') {
    const s = text('termMonths');
    if (s === '') fields.termMonths = 'catalog:error.termRequired';
    else if (!/^\d{1,3}$/.test(s)) fields.termMonths = 'catalog:error.termWhole';
    else termMonths = Number(s);
  }
  const input = {
    name: typeof b.name === 'string' ? b.name : '',
    type,
    priceMinor: typeof price === 'number' ? price : undefined,
    currency: text('currency'),
    credits: count('credits'),
    termMonths, // a credit package has no term: a term typed before switching the type is ignored
    chatbots: count('chatbots', 0),
    departmentIds: listOf(b.departmentIds),
    published: b.published === 'on',
  };
  // The use case's own rules, for the fields this form did not already refuse.
  const checked = createPackageSchema.safeParse(input);
  if (!checked.success) {
    for (const [key, message] of Object.entries(fieldErrors(checked.error.issues, { name: formKey }))) fields[key] ??= message;
  }
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return input;
}

async function withFormErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof ValidationError ? toFormErrors(err) : err;
  }
}

// ---------------------------------------------------------------------------------------------


async function departmentNames(deps: Deps, actor: Actor): Promise<Record<string, string>> {
  return Object.fromEntries((await listDepartments(deps, { actor })).map((d) => [d.id, d.name]));
}

const packageForm = (p: PackageView) => ({
  name: p.version.name,
  type: p.version.type,
  price: minorToDecimal(p.version.priceMinor),
  currency: p.version.currency,
  credits: String(p.version.credits),
  termMonths: p.version.termMonths === null ? '' : String(p.version.termMonths),
  chatbots: String(p.version.chatbots),
  departmentIds: p.version.departmentIds,
  published: p.published ? 'on' : undefined,
});

/** A published package the agency's pool cannot cover one sale of: the warning to show (in the reader's language), or null. */
async function publishedWarning(deps: Deps, req: Request, pkg: PackageView): Promise<string | null> {
  if (!pkg.published) return null;
  const kind = pkg.version.type === 'subscription' ? 'prepaid_subscription' : 'credit_pack';
  return poolWarning(req, pkg.version.name, await poolCoverage(deps.db, { sellerAgencyId: pkg.agencyId, kind, credits: pkg.version.credits }));
}

/** Agency: package screens (/agency/packages...) and purchases (/agency/purchases). */
export function agencyPackageRoutes(deps: Deps, _web: WebContext): Router {
  const r = Router();
  r.use(['/packages', '/purchases'], requireUser('agency'), resellingGate(deps, (req) => (req.baseUrl.endsWith('/purchases') ? 'nav:purchases' : 'nav:packages')));

  const listLocals = async (req: Request) => {
    const actor = actorOf(req);
    const buyersOnly = req.query.view === 'buyers';
    const [all, departments, allBilled] = await Promise.all([listPackages(deps, { actor }), listDepartments(deps, { actor }), listBillingPackages(deps, { actor })]);
    const packages = buyersOnly ? all.filter((p) => p.published) : all;
    const billed = buyersOnly ? allBilled.filter((p) => p.published) : allBilled;
    const canEdit = actor.role !== 'member';
    return { title: req.t('nav:packages'), packages, billed, buyersOnly, offerActions: canEdit && !buyersOnly ? '/agency/offers' : null, billedAction: '/agency/packages/billed', addonModules, quantityUnits, departments, departmentNames: Object.fromEntries(departments.map((d) => [d.id, d.name])), currencies, money: req.fmt.money };
  };
  r.get('/packages', async (req, res) => {
    await page(res, 'agency/packages', await listLocals(req));
  });
  r.post('/packages', formAction({
    view: 'agency/packages', locals: listLocals,
    action: async (req, res) => {
      const pkg = await withFormErrors(() => createPackage(deps, { actor: actorOf(req), input: packageInput(req.body) }));
      const created = req.t(pkg.published ? 'catalog:flash.createdPublished' : 'catalog:flash.createdDraft', { name: pkg.version.name });
      flash(req, withWarning(req, created, await publishedWarning(deps, req, pkg)));
      res.redirect('/agency/packages');
    },
  }));

  const editLocals = async (req: Request) => {
    const actor = actorOf(req);
    const [pkg, departments] = await Promise.all([getPackage(deps, { actor, packageId: String(req.params.id) }), listDepartments(deps, { actor })]);
    return { title: req.t('catalog:edit.title', { name: pkg.version.name }), pkg, departments, currencies, form: packageForm(pkg), money: req.fmt.money };
  };
  r.post('/packages/billed', formAction({
    view: 'agency/packages', locals: listLocals,
    action: async (req, res) => {
      flash(req, await createBilledOffer(deps, req));
      res.redirect('/agency/packages');
    },
  }));
  r.get('/packages/:id/edit', async (req, res) => {
    await page(res, 'agency/package-form', await editLocals(req));
  });
  r.post('/packages/:id', formAction({
    view: 'agency/package-form', locals: editLocals,
    action: async (req, res) => {
      const actor = actorOf(req);
      const before = await getPackage(deps, { actor, packageId: String(req.params.id) });
      const after = await withFormErrors(() => updatePackage(deps, { actor, packageId: before.id, input: packageInput(req.body) }));
      const versioned = after.version.version !== before.version.version;
      const saved = versioned
        ? req.t('catalog:flash.savedVersion', { name: after.version.name, version: after.version.version })
        : req.t('catalog:flash.saved', { name: after.version.name });
      flash(req, withWarning(req, saved, await publishedWarning(deps, req, after)));
      res.redirect('/agency/packages');
    },
  }));

  r.get('/purchases', async (req, res) => {
    const actor = actorOf(req);
    const filter = { status: typeof req.query.status === 'string' ? req.query.status : '', subAccountId: typeof req.query.subAccountId === 'string' ? req.query.subAccountId : '' };
    // A page at a time, newest first; "older" continues after the page's last purchase, in the same filter.
    const before = typeof req.query.before === 'string' && req.query.before ? req.query.before : undefined;
    const [rows, subAccounts] = await Promise.all([listPurchases(deps, { actor, filter, limit: PURCHASES_PAGE + 1, ...(before ? { before } : {}) }), listSubAccounts(deps, { actor, limit: 500 })]);
    const purchases = rows.slice(0, PURCHASES_PAGE);
    const link = (more: Record<string, string>) => `/agency/purchases?${new URLSearchParams({ ...(filter.status ? { status: filter.status } : {}), ...(filter.subAccountId ? { subAccountId: filter.subAccountId } : {}), ...more })}`.replace(/\?$/, '');
    const older = rows.length > PURCHASES_PAGE ? link({ before: purchases[purchases.length - 1]!.id }) : null;
    await page(res, 'agency/purchases', { title: req.t('nav:purchases'), purchases, subAccounts, filter, statuses: purchaseStatuses, money: req.fmt.money, older, newest: before ? link({}) : null });
  });
  return r;
}

// ---------------------------------------------------------------------------------------------

/**
 * Portal: published packages, buying, purchase history (/portal/packages, /portal/purchases).
 * Billing screens: a user without the billing permission sees none of them (DESIGN section 1).
 */
export function portalPackageRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.use(['/packages', '/purchases'], requireUser('sub_account'), billingOnly);

  const listLocals = async (req: Request) => {
    const actor = actorOf(req);
    const now = deps.clock.now();
    const [packages, names, balance, held] = await Promise.all([
      listPackages(deps, { actor }),
      departmentNames(deps, actor),
      getBalance(deps, { agencyId: actor.agencyId!, subAccountId: actor.subAccountId! }),
      holdings(deps.db, actor.subAccountId!, now),
    ]);
    // Each price as its checkout will charge it: net + tax for a seller whose prices exclude tax.
    const [quote, rates] = await Promise.all([checkoutQuoter(deps.db, { agencyId: actor.agencyId!, subAccountId: actor.subAccountId! }), offerRates(deps.db, packages.map((p) => p.id))]);
    const prices = Object.fromEntries(packages.map((p) => [p.id, quote(p.version.priceMinor, rates.get(p.id) ?? null)]));
    return { title: req.t('nav:packages'), packages, prices, departmentNames: names, balance, held, money: req.fmt.money };
  };
  r.get('/packages', async (req, res) => {
    await page(res, 'portal/packages', await listLocals(req));
  });

  r.post('/packages/:id/buy', async (req, res) => {
    const actor = actorOf(req);
    const packageId = String(req.params.id);
    const confirmForfeit = (req.body as { confirmForfeit?: unknown }).confirmForfeit === 'on';
    try {
      const { next } = await startPurchase(deps, { actor, input: { packageId, confirmForfeit }, gateway: await sellerCheckout(deps, web.payLinks, web.gateway, actor.agencyId) });
      if (next.kind === 'redirect') {
        res.redirect(next.url);
        return;
      }
      flash(req, 'catalog:flash.purchaseRecorded');
      res.redirect('/portal/purchases');
    } catch (err) {
      if (err instanceof AppError && err.code === 'forfeit_confirmation_required') {
        const [pkg, names] = await Promise.all([getPackage(deps, { actor, packageId }), departmentNames(deps, actor)]);
        const forfeits = String((err.details as { forfeits?: string } | undefined)?.forfeits ?? err.message);
        return page(res, 'portal/confirm-forfeit', { title: req.t('catalog:portal.confirmSwitch'), pkg, forfeits, departmentNames: names, money: req.fmt.money }, 409);
      }
      if (err instanceof AppError && err.code === 'renewal_too_early') {
        return page(res, 'portal/packages', { ...(await listLocals(req)), formError: localize(req.t, err.message, err.details) }, 409);
      }
      throw err;
    }
  });

  r.get('/purchases', async (req, res) => {
    const actor = actorOf(req);
    const [purchases, balance] = await Promise.all([
      listPurchases(deps, { actor }),
      getBalance(deps, { agencyId: actor.agencyId!, subAccountId: actor.subAccountId! }),
    ]);
    await page(res, 'portal/purchases', { title: req.t('nav:purchases'), purchases, balance, money: req.fmt.money });
  });
  return r;
}

// ---------------------------------------------------------------------------------------------

/** The sandbox payment page standing in for real gateways (/sandbox/checkout/:paymentId). */
export function sandboxRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  const verified = (paymentId: string, sig: unknown) => {
    if (typeof sig !== 'string' || !web.gateway.verify(paymentId, sig)) throw errors.notFound('Payment');
  };

  r.get('/checkout/:paymentId', async (req, res) => {
    const paymentId = String(req.params.paymentId);
    verified(paymentId, req.query.sig);
    const checkout = await getCheckout(deps, paymentId);
    await page(res, 'sandbox/checkout', { title: 'Sandbox payment', paymentId, sig: req.query.sig, checkout, money: req.fmt.money });
  });

  r.post('/checkout/:paymentId', async (req, res) => {
    const paymentId = String(req.params.paymentId);
    const body = (req.body ?? {}) as Record<string, unknown>;
    verified(paymentId, body.sig);
    const decision = body.decision;
    if (decision !== 'pay' && decision !== 'decline') throw errors.badRequest('invalid_decision', 'catalog:error.chooseDecision');
    const { returnPath } = await getCheckout(deps, paymentId);
    const result = await settleAnyPayment(deps, { paymentId, approved: decision === 'pay', reason: 'declined in sandbox', raw: { decision, via: 'sandbox' } });
    if (result.outcome === 'already') flash(req, 'catalog:flash.alreadySettled', 'error');
    else if (result.outcome === 'failed') flash(req, 'catalog:flash.declined', 'error');
    else if (result.grant === 'waiting') flash(req, 'catalog:flash.confirmedWaiting');
    else flash(req, result.purpose === 'package_purchase' ? 'catalog:flash.confirmedApplied' : 'catalog:flash.confirmedOrder');
    res.redirect(returnPath);
  });
  return r;
}
