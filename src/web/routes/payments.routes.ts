import express, { Router, type Request, type Response } from 'express';
import type { Deps } from '../../deps';
import { goToGateway, handleCallback, handleWebhook } from '../../payments/checkout-flow';
import { getCheckout, type Checkout } from '../../payments/checkout';
import type { CallbackFields } from '../../payments/gateway';
import { AppError, errors, ValidationError } from '../../lib/errors';
import { cardInstallments, chooseInstallments, installmentChoice, type InstallmentChoice } from '../../payments/installments';
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

  /**
   * Installments (docs/installments.md): while the seller offers them and the buyer has not chosen,
   * the pay link shows the choice first. iyzico buyers may give their card's first digits (`bin`)
   * to see which counts their card allows. The choice posts back here, signed by the same link.
   */
  const choosePage = async (req: Request, res: Response, checkout: Checkout, choice: InstallmentChoice, extra: { errors?: Record<string, string>; form?: Record<string, string>; status?: number } = {}) => {
    applyLanguage(req, res, checkout.lang);
    const sig = String(req.query.sig ?? '');
    let card: { bin: string; counts: number[]; bankName: string | null } | null = null;
    const errs = { ...(extra.errors ?? {}) };
    const bin = typeof req.query.bin === 'string' ? req.query.bin : extra.form?.bin;
    if (choice.gateway === 'iyzico' && bin) {
      try {
        card = await cardInstallments(deps, checkout.payment, choice, bin);
      } catch (err) {
        if (err instanceof ValidationError) Object.assign(errs, err.fields);
        else if (err instanceof AppError) errs.bin = err.message;
        else throw err;
      }
    }
    const action = `/payments/go/${checkout.payment.id}/installments?sig=${encodeURIComponent(sig)}`;
    const binAction = `/payments/go/${checkout.payment.id}`;
    await page(res, 'payments/installments', { title: res.locals.t('installments:choose.title'), checkout, choice, card, sig, action, binAction, errors: errs, form: extra.form ?? {} }, extra.status ?? 200);
  };

  r.get('/go/:paymentId', sellerBrand(deps), async (req, res) => {
    const paymentId = String(req.params.paymentId);
    if (!web.payLinks.verify(paymentId, req.query.sig)) throw errors.notFound('Payment');
    const checkout = await getCheckout(deps, paymentId);
    const choice = await installmentChoice(deps, checkout.payment);
    if (choice) return choosePage(req, res, checkout, choice);
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

  r.post('/go/:paymentId/installments', sellerBrand(deps), async (req, res) => {
    const paymentId = String(req.params.paymentId);
    if (!web.payLinks.verify(paymentId, req.query.sig)) throw errors.notFound('Payment');
    const checkout = await getCheckout(deps, paymentId);
    const body = (req.body ?? {}) as Record<string, string>;
    const choice = await installmentChoice(deps, checkout.payment);
    try {
      await chooseInstallments(deps, { payment: checkout.payment, count: body.count, bin: body.bin });
    } catch (err) {
      // A count the seller does not offer (a forged form), or one the card refuses: the choice
      // is shown again with what is wrong, and nothing was written.
      if (err instanceof ValidationError && choice) return choosePage(req, res, checkout, choice, { errors: err.fields, form: { count: body.count ?? '', bin: body.bin ?? '' }, status: 422 });
      throw err;
    }
    res.redirect(303, web.payLinks.path(paymentId));
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
