import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import type { Payment } from '../../payments/gateway';
import { refundPayment } from '../../payments/refunds';
import { actorOf } from '../middleware';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

export const paymentJson = (p: Payment) => ({
  id: p.id, status: p.status, purpose: p.purpose, referenceId: p.referenceId, amountMinor: p.amountMinor, currency: p.currency, gateway: p.gateway,
  gatewayReference: p.gatewayReference, failureReason: p.failureReason, refundedMinor: p.refundedMinor,
  confirmedAt: p.confirmedAt?.toISOString() ?? null, refundedAt: p.refundedAt?.toISOString() ?? null, createdAt: p.createdAt.toISOString(),
});

/** Payments a seller took: refunds by the seller's admin (platform key for platform sales, agency key for the agency's). */
export function paymentApiRoutes(deps: Deps): Router {
  const r = Router();
  r.post('/payments/:id/refund', async (req, res) => {
    res.json(paymentJson(await refundPayment(deps, { actor: actorOf(req), paymentId: String(req.params.id), reason: body(req).reason })));
  });
  return r;
}
