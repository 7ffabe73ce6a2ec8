import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import express, { type Request, type Response, type Router } from 'express';
import Stripe from 'stripe';
import { formatMoney } from '../src/lib/money';
import { canonicalParams, FormParseError, parseStripeForm, type FormParams, type FormValue } from '../src/gateways/stripe/form';
import { Account, StripeApiError, StripeSandboxStore, invalidRequest, randomId, type StripeSandboxMerchant } from './stripe-store';
import { stripeTestCards } from '../src/gateways/stripe/test-cards';

export type { StripeSandboxMerchant } from './stripe-store';
export { StripeSandboxStore, stripeSignatureHeader } from './stripe-store';

export interface StripeSandboxOptions {
  /** The merchant a secret key (`Authorization: Bearer sk_test_...`) belongs to, or null. */
  resolveMerchant: (secretKey: string) => Promise<StripeSandboxMerchant | null>;
  /**
   * Origin the buyer's browser reaches the sandbox pages at (3DS `next_action` URLs). Default:
   * the origin of each API request, i.e. the gateway's `sandboxUrl`.
   */
  publicUrl?: string;
  /** How long the `pm_card_sandboxTimeout` card holds back its answer (default 30 s). */
  hangMs?: number;
  /** Sends the webhooks (default: global fetch). */
  fetch?: typeof fetch;
}

export type StripeSandboxRouter = Router & { store: StripeSandboxStore };

const viewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../views/sandbox/stripe');
const API_VERSION = Stripe.API_VERSION;

/**
 * The fake Stripe API. stripe-node has no base path, so the core mounts this router at `/`: it
 * answers `/v1/*` (the API, authenticated by the Bearer secret key) and `/sandbox/stripe/*`
 * (the hosted card page and the 3DS page a browser sees), and passes anything else on.
 */
export function createStripeSandbox(opts: StripeSandboxOptions): StripeSandboxRouter {
  const store = new StripeSandboxStore({ resolveMerchant: opts.resolveMerchant, hangMs: opts.hangMs ?? 30_000, apiVersion: API_VERSION, fetch: opts.fetch ?? fetch });
  const router = express.Router() as StripeSandboxRouter;
  router.store = store;
  router.use('/v1', apiRouter(store, opts));
  router.use('/sandbox/stripe', pageRouter(store, opts));
  return router;
}

// ---- the API ------------------------------------------------------------------------------------

interface ApiContext {
  acct: Account;
  params: FormParams;
  base: string;
  req: Request;
}
interface ApiResult {
  status?: number;
  body: unknown;
  /** Answer this much later (the `hang` card): the charge is recorded, the client times out. */
  delayMs?: number;
}
type ApiHandler = (ctx: ApiContext) => ApiResult | Promise<ApiResult>;

const str = (v: FormValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: FormValue | undefined): boolean => v === 'true';
function metadata(v: FormValue | undefined): Record<string, string> | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidRequest('Invalid metadata: must be an object', { param: 'metadata' });
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalidRequest(`Invalid metadata[${k}]: must be a string`, { param: `metadata[${k}]` });
    out[k] = val;
  }
  return out;
}
function expandList(v: FormValue | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}
function amountParam(v: FormValue | undefined, required: boolean): number | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !/^\d{1,12}$/.test(v)) throw invalidRequest(v === undefined ? 'Missing required param: amount.' : 'Invalid integer: ' + String(v), { code: v === undefined ? 'parameter_missing' : 'parameter_invalid_integer', param: 'amount' });
  const n = Number(v);
  if (n < 1) throw invalidRequest('Amount must be at least 1.', { code: 'amount_too_small', param: 'amount' });
  if (n > 99_999_999) throw invalidRequest('Amount must be no more than 999,999.99', { code: 'amount_too_large', param: 'amount' });
  return n;
}

function apiRouter(store: StripeSandboxStore, opts: StripeSandboxOptions): Router {
  const r = express.Router();
  r.use(express.text({ type: 'application/x-www-form-urlencoded', limit: '100kb' }));

  const handle = (fn: ApiHandler) => async (req: Request, res: Response) => {
    res.set('Request-Id', randomId('req', 14));
    res.set('Stripe-Version', String(req.get('Stripe-Version') ?? API_VERSION));
    let acct: Account | null = null;
    let idemKey: string | undefined;
    try {
      const auth = /^Bearer (\S+)$/.exec(req.get('Authorization') ?? '');
      if (!auth) {
        throw new StripeApiError(401, { type: 'invalid_request_error', message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')." }, false);
      }
      const merchant = await opts.resolveMerchant(auth[1]!);
      if (!merchant) {
        const k = auth[1]!;
        throw new StripeApiError(401, { type: 'invalid_request_error', code: 'api_key_invalid', message: `Invalid API Key provided: ${k.slice(0, 8)}${'*'.repeat(Math.max(0, k.length - 12))}${k.slice(-4)}` }, false);
      }
      acct = store.account(merchant, auth[1]!);
      const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
      let params: FormParams;
      try {
        params = parseStripeForm(req.method === 'POST' ? (typeof req.body === 'string' ? req.body : '') : query);
      } catch (e) {
        if (e instanceof FormParseError) throw invalidRequest(e.message);
        throw e;
      }
      const ctx: ApiContext = { acct, params, base: (opts.publicUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/$/, ''), req };
      idemKey = req.method === 'POST' ? req.get('Idempotency-Key') : undefined;
      if (idemKey !== undefined) {
        if (idemKey.length === 0 || idemKey.length > 255) throw invalidRequest('Idempotency keys must be between 1 and 255 characters long.', { param: 'Idempotency-Key' });
        const found = store.idempotencyLookup(acct, idemKey, `${req.method} ${req.path} ${canonicalParams(params)}`);
        if ('replay' in found) {
          res.set('Idempotent-Replayed', 'true').set('Idempotency-Key', idemKey);
          res.status(found.replay.status).json(found.replay.body);
          return;
        }
        res.set('Idempotency-Key', idemKey);
      }
      const result = await fn(ctx);
      const status = result.status ?? 200;
      if (idemKey !== undefined) store.idempotencySave(acct, idemKey, status, result.body);
      if (result.delayMs) {
        const timer = setTimeout(() => {
          if (!res.writableEnded && !res.destroyed) res.status(status).json(result.body);
        }, result.delayMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      res.status(status).json(result.body);
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      if (acct && idemKey !== undefined) {
        if (err.saved) store.idempotencySave(acct, idemKey, err.status, { error: err.error });
        else if (err.error.type !== 'idempotency_error') store.idempotencyForget(acct, idemKey);
      }
      if (err.status === 500) res.set('Stripe-Should-Retry', 'false');
      res.status(err.status).json({ error: { ...err.error, request_log_url: `https://dashboard.stripe.com/test/logs/${res.get('Request-Id')}` } });
    }
  };

  // Customers
  r.post('/customers', handle(({ acct, params }) => ({ body: store.createCustomer(acct, { email: str(params.email), name: str(params.name), description: str(params.description), metadata: metadata(params.metadata) }) })));
  r.get('/customers', handle(({ acct, params }) => {
    const limit = Math.min(100, Math.max(1, Number(str(params.limit) ?? '10') || 10));
    return { body: { object: 'list', data: store.listCustomers(acct, str(params.email), limit), has_more: false, url: '/v1/customers' } };
  }));
  r.get('/customers/:id', handle(({ acct, req }) => ({ body: store.getCustomer(acct, String(req.params.id), 'id') })));

  // PaymentMethods
  r.get('/payment_methods/:id', handle(({ acct, req }) => ({ body: store.paymentMethodObject(acct, String(req.params.id)) })));
  r.post('/payment_methods/:id/attach', handle(({ acct, params, req }) => {
    const customer = str(params.customer);
    if (!customer) throw invalidRequest('Missing required param: customer.', { code: 'parameter_missing', param: 'customer' });
    return { body: store.attach(acct, String(req.params.id), customer) };
  }));

  // SetupIntents
  r.post('/setup_intents', handle(({ acct, params, base }) => {
    const rec = store.createSetupIntent(acct, { customer: str(params.customer), paymentMethod: str(params.payment_method), usage: str(params.usage), metadata: metadata(params.metadata), allowedTypes: expandList(params.allowed_payment_method_types) });
    if (bool(params.confirm)) store.confirmSetupIntent(acct, rec, { returnUrl: returnUrlParam(params), base });
    return { body: rec.obj };
  }));
  r.get('/setup_intents/:id', handle(({ acct, req }) => ({ body: store.getSetupIntent(acct, String(req.params.id)).obj })));
  r.post('/setup_intents/:id/confirm', handle(({ acct, params, req, base }) => {
    const rec = store.getSetupIntent(acct, String(req.params.id));
    return { body: store.confirmSetupIntent(acct, rec, { paymentMethod: str(params.payment_method), returnUrl: returnUrlParam(params), base }) };
  }));

  // PaymentIntents
  const expandIntent = (acct: Account, pi: Record<string, unknown>, expand: string[]) => {
    const out = structuredClone(pi);
    if (expand.includes('payment_method') && typeof out.payment_method === 'string') out.payment_method = store.paymentMethodObject(acct, out.payment_method);
    if (expand.includes('latest_charge') && typeof out.latest_charge === 'string') out.latest_charge = store.charges(acct.id).find((c) => c.id === pi.latest_charge) ?? out.latest_charge;
    return out;
  };
  r.post('/payment_intents', handle(({ acct, params, base }) => {
    const currency = str(params.currency);
    if (!currency) throw invalidRequest('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' });
    if (!/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}. Stripe currently supports these currencies: usd, eur, try, ...`, { code: 'parameter_invalid_string', param: 'currency' });
    const sfu = str(params.setup_future_usage);
    if (sfu !== undefined && sfu !== 'off_session' && sfu !== 'on_session') throw invalidRequest(`Invalid setup_future_usage: ${sfu}`, { param: 'setup_future_usage' });
    const offSession = bool(params.off_session);
    const confirm = bool(params.confirm);
    if (offSession && !confirm) throw invalidRequest('You can only pass in `off_session` when `confirm` is true.', { param: 'off_session' });
    const pi = store.createPaymentIntent(acct, { amount: amountParam(params.amount, true)!, currency, customer: str(params.customer), description: str(params.description), metadata: metadata(params.metadata), setupFutureUsage: sfu, paymentMethod: str(params.payment_method), allowedTypes: expandList(params.allowed_payment_method_types) });
    if (!confirm) return { body: pi };
    const { pi: confirmed, hang } = store.confirmPaymentIntent(acct, store.getPaymentIntent(acct, pi.id), { offSession, returnUrl: returnUrlParam(params), base, mode: 'api' });
    return { body: expandIntent(acct, confirmed, expandList(params.expand)), delayMs: hang ? store.hangMs : undefined };
  }));
  r.get('/payment_intents/search', handle(({ acct, params }) => {
    const query = str(params.query);
    if (!query) throw invalidRequest('Missing required param: query.', { code: 'parameter_missing', param: 'query' });
    return { body: { object: 'search_result', data: store.searchPaymentIntents(acct, query), has_more: false, next_page: null, url: '/v1/payment_intents/search' } };
  }));
  r.get('/payment_intents/:id', handle(({ acct, params, req }) => ({ body: expandIntent(acct, store.getPaymentIntent(acct, String(req.params.id)).obj, expandList(params.expand)) })));
  r.post('/payment_intents/:id/confirm', handle(({ acct, params, req, base }) => {
    const rec = store.getPaymentIntent(acct, String(req.params.id));
    const { pi, hang } = store.confirmPaymentIntent(acct, rec, { paymentMethod: str(params.payment_method), offSession: bool(params.off_session), returnUrl: returnUrlParam(params), base, mode: 'api' });
    return { body: expandIntent(acct, pi, expandList(params.expand)), delayMs: hang ? store.hangMs : undefined };
  }));
  r.post('/payment_intents/:id/cancel', handle(({ acct, params, req }) => ({ body: store.cancelPaymentIntent(acct, store.getPaymentIntent(acct, String(req.params.id)), str(params.cancellation_reason)) })));

  // Refunds
  r.post('/refunds', handle(({ acct, params }) => ({ body: store.createRefund(acct, { paymentIntent: str(params.payment_intent), charge: str(params.charge), amount: amountParam(params.amount, false), reason: str(params.reason), metadata: metadata(params.metadata) }) })));
  r.get('/refunds/:id', handle(({ acct, req }) => {
    const refund = [...acct.refunds.values()].find((x) => x.id === req.params.id);
    if (!refund) throw invalidRequest(`No such refund: '${String(req.params.id)}'`, { code: 'resource_missing', param: 'id' }, 404);
    return { body: refund };
  }));

  // Anything else under /v1 is Stripe's "unrecognized request URL", never the app's pages.
  r.use(handle(({ req }) => {
    throw invalidRequest(`Unrecognized request URL (${req.method}: ${req.originalUrl.split('?')[0]}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {}, 404);
  }));
  return r;
}

function returnUrlParam(params: FormParams): string | null | undefined {
  const v = str(params.return_url);
  if (v === undefined) return undefined;
  if (!isHttpUrl(v)) throw invalidRequest('Invalid URL: return_url must be an absolute http(s) URL.', { param: 'return_url', code: 'url_invalid' });
  return v;
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

// ---- the browser pages --------------------------------------------------------------------------

/** Stripe's redirect back: `return_url?payment_intent=...&payment_intent_client_secret=...&redirect_status=...`. */
function returnTo(returnUrl: string, intent: { id: string; client_secret: string; object: string }, status: string): string {
  const u = new URL(returnUrl);
  const kind = intent.object === 'setup_intent' ? 'setup_intent' : 'payment_intent';
  u.searchParams.set(kind, intent.id);
  u.searchParams.set(`${kind}_client_secret`, intent.client_secret);
  u.searchParams.set('redirect_status', status);
  return u.toString();
}

async function render(res: Response, view: string, locals: Record<string, unknown>, status = 200): Promise<void> {
  const html = await ejs.renderFile(path.join(viewsDir, `${view}.ejs`), { ...locals, formatMoney }, { async: false });
  res.status(status).type('html').set('Cache-Control', 'no-store').send(html);
}

function pageRouter(store: StripeSandboxStore, opts: StripeSandboxOptions): Router {
  const r = express.Router();
  r.use(express.urlencoded({ extended: false, limit: '20kb' }));
  const baseOf = (req: Request) => (opts.publicUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/$/, '');
  const field = (req: Request, name: string): string => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const v = req.method === 'POST' ? body[name] : req.query[name];
    return typeof v === 'string' ? v : '';
  };

  const notFound = (res: Response) => render(res, 'message', { title: 'No such payment', message: 'This sandbox payment link is not valid (unknown payment, or a wrong client secret). Sandbox payments are kept in memory and are forgotten when the server restarts.' }, 404);

  const loadPayment = (req: Request) => {
    const rec = store.findPaymentIntent(String(req.params.id));
    if (!rec || field(req, 'client_secret') !== rec.obj.client_secret) return null;
    const acct = store.accountOf(rec.obj.id)!;
    return { rec, acct };
  };

  const payLocals = (rec: NonNullable<ReturnType<typeof loadPayment>>['rec'], returnUrl: string, error?: string) => ({
    pi: rec.obj,
    merchantName: store.accountOf(rec.obj.id)?.name ?? null,
    returnUrl,
    cards: stripeTestCards,
    error,
    amountText: formatMoney(rec.obj.amount, rec.obj.currency.toUpperCase(), 'en'),
  });

  r.get('/pay/:id', async (req, res) => {
    const found = loadPayment(req);
    if (!found) return notFound(res);
    const returnUrl = field(req, 'return_url');
    if (returnUrl && !isHttpUrl(returnUrl)) return render(res, 'message', { title: 'Bad return URL', message: 'return_url must be an absolute http(s) URL.' }, 400);
    await render(res, 'pay', payLocals(found.rec, returnUrl || found.rec.returnUrl || ''));
  });

  r.post('/pay/:id', async (req, res) => {
    const found = loadPayment(req);
    if (!found) return notFound(res);
    const { rec, acct } = found;
    const returnUrl = field(req, 'return_url');
    if (returnUrl && !isHttpUrl(returnUrl)) return render(res, 'message', { title: 'Bad return URL', message: 'return_url must be an absolute http(s) URL.' }, 400);
    const card = stripeTestCards.find((c) => c.token === field(req, 'payment_method'));
    if (!card) return render(res, 'pay', payLocals(rec, returnUrl, 'Choose one of the test cards.'), 400);
    try {
      const { pi } = store.confirmPaymentIntent(acct, rec, { paymentMethod: card.token, offSession: false, returnUrl: returnUrl || null, base: baseOf(req), mode: 'page' });
      if (pi.status === 'requires_action') return res.redirect(303, (pi.next_action as { redirect_to_url: { url: string } }).redirect_to_url.url);
      if (!returnUrl) return render(res, 'message', { title: 'Payment submitted', message: `The PaymentIntent is now ${pi.status}. No return_url was given.` });
      return res.redirect(303, returnTo(returnUrl, pi, pi.status === 'succeeded' ? 'succeeded' : 'processing'));
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      return render(res, 'pay', payLocals(rec, returnUrl, err.error.message), err.status);
    }
  });

  r.post('/pay/:id/cancel', async (req, res) => {
    const found = loadPayment(req);
    if (!found) return notFound(res);
    const { rec, acct } = found;
    const returnUrl = field(req, 'return_url');
    try {
      store.cancelPaymentIntent(acct, rec, 'abandoned');
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
    }
    if (!returnUrl || !isHttpUrl(returnUrl)) return render(res, 'message', { title: 'Payment canceled', message: 'You canceled this sandbox payment.' });
    return res.redirect(303, returnTo(returnUrl, rec.obj, 'failed'));
  });

  const loadIntent = (req: Request) => {
    const id = String(req.params.id);
    const rec = id.startsWith('seti_') ? store.findSetupIntent(id) : store.findPaymentIntent(id);
    if (!rec || field(req, 'client_secret') !== rec.obj.client_secret) return null;
    return { rec, acct: store.accountOf(id)! };
  };

  r.get('/3ds/:id', async (req, res) => {
    const found = loadIntent(req);
    if (!found) return notFound(res);
    const intent = found.rec.obj;
    const amountText = intent.object === 'payment_intent' ? formatMoney(intent.amount as number, String(intent.currency).toUpperCase(), 'en') : null;
    await render(res, 'three-d-secure', { intent, amountText });
  });

  r.post('/3ds/:id', async (req, res) => {
    const found = loadIntent(req);
    if (!found) return notFound(res);
    const success = field(req, 'action') === 'complete';
    const { rec, acct } = found;
    const intent =
      rec.obj.object === 'setup_intent'
        ? store.authenticateSetupIntent(acct, store.findSetupIntent(rec.obj.id)!, success)
        : store.authenticatePaymentIntent(acct, store.findPaymentIntent(rec.obj.id)!, success);
    const status = intent.status === 'succeeded' ? 'succeeded' : 'failed';
    if (!rec.returnUrl) return render(res, 'message', { title: success ? 'Authentication complete' : 'Authentication failed', message: `The ${intent.object} is now ${intent.status}.` });
    return res.redirect(303, returnTo(rec.returnUrl, intent, status));
  });

  return r;
}
