import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { sellerCheckout } from '../../payments/checkout-flow';
import { buyerOf } from '../../payments/payment-methods';
import { debitWallet, getWallet, startWalletTopup, type WalletEntry } from '../../wallets/wallets.usecases';
import type { WebContext } from '../app';
import { chargeJson } from './charge-json';
import { actorOf } from '../middleware';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const entryJson = (e: WalletEntry): Answer<typeof A.WalletEntry> => ({ id: e.id, deltaMinor: e.deltaMinor, balanceAfterMinor: e.balanceAfterMinor, reason: e.reason, reference: e.reference, createdAt: e.createdAt.toISOString() });

/** The WhatsApp balance: a money wallet per agency or sub-account, topped up through the seller's gateway. */
export function walletApiRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.get('/whatsapp-balance', async (req, res) => {
    const w = await getWallet(deps, actorOf(req));
    res.json({ balanceMinor: w.balanceMinor, currency: w.currency, entries: w.entries.map(entryJson) });
  });
  r.post('/whatsapp-balance/top-ups', async (req, res) => {
    const actor = actorOf(req);
    const gateway = await sellerCheckout(deps, web.payLinks, web.gateway, buyerOf(actor).sellerAgencyId);
    const t = await startWalletTopup(deps, { actor, input: body(req), gateway });
    res.status(201).json({ topupId: t.topupId, paymentId: t.paymentId, status: 'pending_payment', checkoutUrl: t.next.kind === 'redirect' ? t.next.url : null, charge: chargeJson(t.charge) });
  });
  r.post('/whatsapp-balance/debits', async (req, res) => {
    const w = await debitWallet(deps, { actor: actorOf(req), input: body(req), idempotencyKey: req.get('idempotency-key') ?? null });
    res.json({ balanceMinor: w.balanceMinor, currency: w.currency });
  });
  return r;
}
