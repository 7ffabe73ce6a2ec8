import { Router, type Request } from 'express';
import { createPackage, getPackage, listPackages, updatePackage, type PackageView } from '../../catalog/resold-packages';
import { listPurchases, recordOfflinePurchase, type Purchase, type PurchaseRow } from '../../purchases/purchases.usecases';
import type { Deps } from '../../deps';
import { actorOf, requireKeyScope } from '../middleware';
import { createBillingPackage, getBillingPackage, isBillingPackageId, listBillingPackages, updateBillingPackage } from '../../catalog/billing-offers';
import { billingPackageJson } from './billing.routes';
import { apiT, apiText } from './text';
import { tFor, type Translate } from '../../i18n/i18n';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const packageJson = (p: PackageView): Answer<typeof A.ResoldPackage> => ({
  id: p.id,
  name: p.version.name,
  type: p.version.type,
  priceMinor: p.version.priceMinor,
  currency: p.version.currency,
  credits: p.version.credits,
  termMonths: p.version.termMonths,
  chatbots: p.version.chatbots,
  departmentIds: p.version.departmentIds,
  published: p.published,
  version: p.version.version,
  createdAt: p.createdAt.toISOString(),
});

export const purchaseJson = (p: Purchase & { packageName?: string; subscription?: PurchaseRow['subscription'] }, t: Translate = tFor('en')): Answer<typeof A.Purchase> => ({
  id: p.id,
  subAccountId: p.subAccountId,
  packageId: p.packageId,
  packageVersionId: p.packageVersionId,
  ...(p.packageName ? { packageName: p.packageName } : {}),
  type: p.type,
  priceMinor: p.priceMinor,
  currency: p.currency,
  status: p.status,
  paymentMethod: p.paymentMethod,
  paidAt: p.paidAt?.toISOString() ?? null,
  grantedAt: p.grantedAt?.toISOString() ?? null,
  lastGrantError: apiText(t, p.lastGrantError),
  subscription: p.subscription
    ? { status: p.subscription.status, startsAt: p.subscription.startsAt.toISOString(), endsAt: p.subscription.endsAt.toISOString(), nextGrantAt: p.subscription.nextGrantAt?.toISOString() ?? null }
    : null,
  createdAt: p.createdAt.toISOString(),
});

/** Resold packages and purchases (DESIGN section 4). */
export function packageRoutes(deps: Deps): Router {
  const r = Router();
  // Agency keys see all their packages; sub-account keys the published ones. Billing-engine
  // packages (monthly, term, extra sessions) are listed with them and carry "billing"; the
  // platform key sees the platform's, and an agency key the platform's it can buy with ?seller=platform.
  r.get('/packages', async (req, res) => {
    const actor = actorOf(req);
    const asBuyer = actor.scope === 'agency' && req.query.seller === 'platform';
    const legacy = actor.scope === 'platform' || asBuyer ? [] : (await listPackages(deps, { actor })).map(packageJson);
    const billing = (await listBillingPackages(deps, { actor, asBuyer })).map(billingPackageJson);
    res.json({ data: [...legacy, ...billing] });
  });
  r.get('/packages/:id', async (req, res) => {
    const id = String(req.params.id);
    if (isBillingPackageId(id)) return void res.json(billingPackageJson(await getBillingPackage(deps, { actor: actorOf(req), packageId: id })));
    res.json(packageJson(await getPackage(deps, { actor: actorOf(req), packageId: id })));
  });
  r.post('/packages', async (req, res) => {
    const actor = actorOf(req);
    if (actor.scope === 'platform' || body(req).billing !== undefined || body(req).kind === 'extra_sessions') {
      return void res.status(201).json(billingPackageJson(await createBillingPackage(deps, { actor, input: body(req) })));
    }
    requireKeyScope('agency')(req, res, () => {});
    res.status(201).json(packageJson(await createPackage(deps, { actor, input: body(req) })));
  });
  r.patch('/packages/:id', async (req, res) => {
    const actor = actorOf(req);
    const id = String(req.params.id);
    if (isBillingPackageId(id)) return void res.json(billingPackageJson(await updateBillingPackage(deps, { actor, packageId: id, input: body(req) })));
    requireKeyScope('agency')(req, res, () => {});
    res.json(packageJson(await updatePackage(deps, { actor, packageId: id, input: body(req) })));
  });
  r.get('/sub-accounts/:id/purchases', requireKeyScope('agency'), async (req, res) => {
    res.json({ data: (await listPurchases(deps, { actor: actorOf(req), subAccountId: String(req.params.id), filter: req.query })).map((p) => purchaseJson(p, apiT(req))) });
  });
  r.post('/sub-accounts/:id/purchases', requireKeyScope('agency'), async (req, res) => {
    const purchase = await recordOfflinePurchase(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: body(req), idempotencyKey: req.get('idempotency-key') ?? null });
    res.status(201).json(purchaseJson(purchase, apiT(req)));
  });
  r.get('/purchases', async (req, res) => {
    res.json({ data: (await listPurchases(deps, { actor: actorOf(req), filter: req.query })).map((p) => purchaseJson(p, apiT(req))) });
  });
  return r;
}
