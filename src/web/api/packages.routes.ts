import { Router, type Request } from 'express';
import { createPackage, getPackage, listPackages, updatePackage, type PackageView } from '../../packages/packages.usecases';
import { listPurchases, recordOfflinePurchase, type Purchase, type PurchaseRow } from '../../purchases/purchases.usecases';
import type { Deps } from '../../deps';
import { actorOf, requireKeyScope } from '../middleware';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const packageJson = (p: PackageView) => ({
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

export const purchaseJson = (p: Purchase & { packageName?: string; subscription?: PurchaseRow['subscription'] }) => ({
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
  lastGrantError: p.lastGrantError,
  subscription: p.subscription
    ? { status: p.subscription.status, startsAt: p.subscription.startsAt.toISOString(), endsAt: p.subscription.endsAt.toISOString(), nextGrantAt: p.subscription.nextGrantAt?.toISOString() ?? null }
    : null,
  createdAt: p.createdAt.toISOString(),
});

/** Resold packages and purchases (DESIGN section 4). */
export function packageRoutes(deps: Deps): Router {
  const r = Router();
  // Agency keys see all their packages; sub-account keys the published ones.
  r.get('/packages', async (req, res) => {
    res.json({ data: (await listPackages(deps, { actor: actorOf(req) })).map(packageJson) });
  });
  r.get('/packages/:id', async (req, res) => {
    res.json(packageJson(await getPackage(deps, { actor: actorOf(req), packageId: String(req.params.id) })));
  });
  r.post('/packages', requireKeyScope('agency'), async (req, res) => {
    res.status(201).json(packageJson(await createPackage(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.patch('/packages/:id', requireKeyScope('agency'), async (req, res) => {
    res.json(packageJson(await updatePackage(deps, { actor: actorOf(req), packageId: String(req.params.id), input: body(req) })));
  });
  r.get('/sub-accounts/:id/purchases', requireKeyScope('agency'), async (req, res) => {
    res.json({ data: (await listPurchases(deps, { actor: actorOf(req), subAccountId: String(req.params.id), filter: req.query })).map(purchaseJson) });
  });
  r.post('/sub-accounts/:id/purchases', requireKeyScope('agency'), async (req, res) => {
    const purchase = await recordOfflinePurchase(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: body(req), idempotencyKey: req.get('idempotency-key') ?? null });
    res.status(201).json(purchaseJson(purchase));
  });
  r.get('/purchases', async (req, res) => {
    res.json({ data: (await listPurchases(deps, { actor: actorOf(req), filter: req.query })).map(purchaseJson) });
  });
  return r;
}
