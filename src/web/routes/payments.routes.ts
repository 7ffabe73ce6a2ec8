import express, { Router, type Request, type Response } from 'express';
import type { Deps } from '../../deps';
import { goToGateway, handleCallback, handleWebhook } from '../../payments/checkout-flow';
import { getCheckout, type Checkout } from '../../payments/checkout';
import type { CallbackFields } from '../../payments/gateway';
import { errors } from '../../lib/errors';
import type { WebContext } from '../app';
import { page } from '../render';
import { applyLanguage } from '../language';
import { useBrand } from '../brand';
import { PLATFORM_BRAND, paymentBrand } from '../../branding/brand';
import { assertCleanBytes, guardBodyText } from '../text-guard';

/** Pages served without a session (the buyer may come back from a bank on another site). */
function anonymousLocals(req: Request, res: Response, next: () => void) {
  Object.assign(res.locals, { principal: null, csrfToken: '', flash: null, currentPath: req.path, testClock: null, form: {}, errors: {}, brand: PLATFORM_BRAND });
  next();
}

/** A payment's pages are the seller's: an agency's client pays the agency, under its brand. */
const sellerBrand = (deps: Deps) => async (req: Request, res: Response, next: () => void) => {
  useBrand(res, await paymentBrand(deps.db, String(req.params.paymentId)));
  next();
};

/** Fields as sent: single values as text, repeated ones as arrays (the verifier decides). */
const fields = (v: unknown): CallbackFields =>
  Object.fromEntries(Object.entries((v ?? {}) as Record<string, unknown>).map(([k, x]) => [k, Array.isArray(x) ? x.map(String) : x === undefined || x === null ? '' : String(x)]));

/**
 * The buyer's way to the seller's gateway and back:
 * - GET /payments/go/:id?sig=  signed pay link: starts the payment (redirect or auto-posted form)
 * - GET|POST /payments/callback/:id  the gateway sends the buyer back here (verified, applied once)
 * Mounted before sessions and CSRF: a bank posts back cross-site, with no Kontor cookie or token.
 */
/** The payment's outcome, in the buyer's language (the seller's: the buyer comes back without a session). */
function result(res: Response, outcome: { outcome: string; payment: { amountMinor: number; currency: string; status: string }; returnPath: string; message: string }, checkout: Checkout, status = 200): Promise<void> {
  applyLanguage(res.req, res, checkout.lang);
  return page(res, 'payments/result', { title: res.locals.t('payments:title'), result: outcome, checkout }, status);
}

export function paymentRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.use(anonymousLocals);
  r.use(express.urlencoded({ extended: false, limit: '64kb' }), guardBodyText);

  r.get('/go/:paymentId', sellerBrand(deps), async (req, res) => {
    const paymentId = String(req.params.paymentId);
    if (!web.payLinks.verify(paymentId, req.query.sig)) throw errors.notFound('Payment');
    const next = await goToGateway(deps, { paymentId, ip: req.ip ?? '127.0.0.1', standIn: web.gateway });
    if (next.kind === 'redirect') return res.redirect(next.url);
    if (next.kind === 'settled') return result(res, next, await getCheckout(deps, paymentId));
    // The form posts to the bank's 3D gate: allow exactly that origin as a form target.
    const origin = new URL(next.action).origin;
    const csp = res.getHeader('content-security-policy');
    if (typeof csp === 'string') res.setHeader('content-security-policy', csp.replace("form-action 'self'", `form-action 'self' ${origin}`));
    // The buyer reads the seller's language (no session here): the gateway is told the same one.
    applyLanguage(req, res, next.lang);
    return res.render('payments/post-to-gateway', { start: { action: next.action, fields: next.fields }, brand: res.locals.brand });
  });

  const callback = async (req: Request, res: Response) => {
    const paymentId = String(req.params.paymentId);
    const outcome = await handleCallback(deps, { paymentId, body: fields(req.body), query: fields(req.query) });
    const status = outcome.outcome === 'failed' ? 402 : 200;
    // What was paid for and to whom, by name (the payment id means nothing to the buyer).
    await result(res, outcome, await getCheckout(deps, paymentId), status);
  };
  r.get('/callback/:paymentId', sellerBrand(deps), callback);
  r.post('/callback/:paymentId', sellerBrand(deps), callback);
  return r;
}

/** POST /webhooks/:gatewayAccountId: raw body kept for the signature check and storage. */
export function webhookRoutes(deps: Deps): Router {
  const r = Router();
  r.post('/:accountId', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    assertCleanBytes(rawBody);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : v]));
    const result = await handleWebhook(deps, { accountId: String(req.params.accountId), rawBody, headers });
    res.json({ received: true, duplicate: result.duplicate, applied: result.applied });
  });
  return r;
}
