// The fake Stripe API on a real local port, a webhook receiver beside it, and helpers that
// drive the sandbox pages the way a browser does (follow forms, no scripts).
import { paymentRow } from '../support/payment-row';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import type { Payment } from '../../src/payments/gateway';
import { stripeRegistration } from '../../src/gateways/stripe';
import { createStripeSandbox, type StripeSandboxMerchant, type StripeSandboxRouter } from '../../sandboxes';
import { listen } from '../support/server';

export const SELLER = { secretKey: 'sk_test_51KontorSellerAaaaaaaaaaaa', publishableKey: 'pk_test_51KontorSellerAaaaaaaaaaaa', webhookSecret: 'whsec_KontorSellerAwebhookSecret0001' };
export const OTHER_SELLER = { secretKey: 'sk_test_51KontorSellerBbbbbbbbbbbb', publishableKey: 'pk_test_51KontorSellerBbbbbbbbbbbb', webhookSecret: 'whsec_KontorSellerBwebhookSecret0002' };

export interface ReceivedWebhook {
  body: Buffer;
  headers: Record<string, string | undefined>;
  type: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Harness {
  base: string;
  app: Express;
  sandbox: StripeSandboxRouter;
  webhooks: ReceivedWebhook[];
  merchants: Map<string, StripeSandboxMerchant>;
  close(): Promise<void>;
}

/** An app like the core's: the sandbox mounted at `/`, a webhook receiver, Kontor's assets. */
export async function startHarness(opts: { hangMs: number; csp?: boolean; extra?: (app: Express, h: Harness) => void }): Promise<Harness> {
  const app = express();
  const merchants = new Map<string, StripeSandboxMerchant>();
  const webhooks: ReceivedWebhook[] = [];
  const sandbox = createStripeSandbox({ resolveMerchant: async (key) => merchants.get(key) ?? null, hangMs: opts.hangMs });
  const h = { app, sandbox, webhooks, merchants } as Harness;
  if (opts.csp) {
    app.use((_req, res, next) => {
      res.set('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'");
      next();
    });
  }
  app.use(sandbox);
  app.post('/hooks/stripe/:seller', express.raw({ type: '*/*' }), (req, res) => {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
    webhooks.push({ body: req.body as Buffer, headers, type: (JSON.parse((req.body as Buffer).toString('utf8')) as { type: string }).type });
    res.json({ received: true });
  });
  app.use('/assets', express.static(path.join(root, 'public')));
  app.use('/assets/vendor/pico', express.static(path.join(root, 'node_modules/@picocss/pico/css')));
  opts.extra?.(app, h);
  const server = await listen(app);
  h.base = server.base;
  merchants.set(SELLER.secretKey, { id: 'acct_seller_a', webhookSecret: SELLER.webhookSecret, webhookUrl: `${server.base}/hooks/stripe/a` });
  merchants.set(OTHER_SELLER.secretKey, { id: 'acct_seller_b', webhookSecret: OTHER_SELLER.webhookSecret, webhookUrl: null });
  h.close = async () => {
    sandbox.store.close();
    await server.close();
  };
  return h;
}

export function gatewayFor(h: Harness, creds = SELLER, timeoutMs = 5_000) {
  return stripeRegistration.create(creds, { mode: 'test', sandboxUrl: h.base, timeoutMs });
}

export function makePayment(over: Partial<Payment> = {}): Payment {
  return paymentRow({ sellerAgencyId: null, gateway: 'stripe', ...over });
}

export const buyer = { id: 'usr_buyer1', name: 'Ayşe Yılmaz', email: 'ayse@example.test', ip: '127.0.0.1' };
export const callbackUrl = (p: Payment) => `http://kontor.test/payments/callback/${p.id}`;

// ---- a form-following "browser" ------------------------------------------------------------------

const decode = (s: string) => s.replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export interface PageForm {
  action: string;
  fields: Record<string, string>;
  /** data-testid of the submit button. */
  button: string | null;
  radios: Record<string, string[]>;
}

export function formsOf(html: string): PageForm[] {
  return [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].map((m) => {
    const fields: Record<string, string> = {};
    const radios: Record<string, string[]> = {};
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/g)) {
      const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(input[1]!)?.[1];
      const name = attr('name');
      if (!name) continue;
      const value = decode(attr('value') ?? '');
      if (attr('type') === 'radio') (radios[name] ??= []).push(value);
      else fields[name] = value;
    }
    return { action: decode(m[1]!), fields, button: /<button\b[^>]*data-testid="([^"]+)"/.exec(m[2]!)?.[1] ?? null, radios };
  });
}

export async function getPage(url: string): Promise<{ status: number; html: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, html: await res.text() };
}

/** Submits the form whose button has this test id; returns the redirect target or the page. */
export async function submit(base: string, html: string, button: string, extra: Record<string, string> = {}): Promise<{ status: number; location: string | null; html: string }> {
  const form = formsOf(html).find((f) => f.button === button);
  if (!form) throw new Error(`no form with button ${button}`);
  const res = await fetch(new URL(form.action, base), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form.fields, ...extra }).toString(),
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

/** The query of the URL Stripe sent the buyer back to (the core's callback route). */
export function queryOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams);
}

/** Pays on the hosted page with a test card (3DS answered `complete`/`fail` when asked). */
export async function payOnHostedPage(base: string, startUrl: string, token: string, threeDS: 'complete' | 'fail' = 'complete'): Promise<{ returnedTo: string; steps: string[] }> {
  const steps: string[] = [];
  const page = await getPage(startUrl);
  if (page.status !== 200) throw new Error(`hosted page answered ${page.status}`);
  steps.push('pay');
  let res = await submit(base, page.html, 'pay', { payment_method: token });
  if (res.status !== 303 || !res.location) throw new Error(`pay answered ${res.status}: ${res.html.slice(0, 300)}`);
  if (res.location.includes('/sandbox/stripe/3ds/')) {
    steps.push('3ds');
    const challenge = await getPage(new URL(res.location, base).toString());
    res = await submit(base, challenge.html, threeDS === 'complete' ? 'complete-3ds' : 'fail-3ds');
    if (res.status !== 303 || !res.location) throw new Error(`3DS answered ${res.status}`);
  }
  return { returnedTo: res.location, steps };
}

export async function waitFor<T>(fn: () => T | undefined, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
