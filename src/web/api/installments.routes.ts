// Installments (taksit) through the API (docs/installments.md): the seller's settings, with the
// same validation and audit as the Payment systems page, and the buyer's choice for a pending
// payment, with the same server-side arithmetic and refusals as the pay-link page.
import { Router, type Request } from 'express';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { payments } from '../../../db/schema';
import { requireBilling, requireRole } from '../../auth/policies';
import type { Deps } from '../../deps';
import { errors, ValidationError } from '../../lib/errors';
import { parse } from '../../lib/validation';
import { getGatewayAccount } from '../../payments/gateway-accounts';
import { buyerOf } from '../../payments/payment-methods';
import { chooseInstallments, installmentChoice, isInstallmentCount, offersInstallments, planOf, saveInstallmentPlan, surchargeText, type InstallmentPlan, type InstallmentQuote } from '../../payments/installments';
import { actorOf } from '../middleware';
import { sellerOfCaller } from './seller';

export const installmentsBodySchema = z.object({
  offers: z.array(z.object({
    count: z.number({ error: 'installments:errors.notOffered' }).int().describe('2, 3, 6, 9 or 12'),
    surcharge: z.union([z.string(), z.number()]).optional().describe('Percent, at most two decimals ("2.50"); empty or absent: none'),
  }), { error: 'installments:errors.offersList' }).max(5).describe('The counts offered; an empty list turns installments off'),
  minAmountMinor: z.number().int().min(0).max(99_999_999_999).optional().describe('The smallest amount (TRY minor units) paid in installments; 0 or absent: none'),
});

export const installmentChoiceBodySchema = z.object({
  count: z.union([z.number().int(), z.string()]).describe('1 for a single payment, else one of the offered counts'),
  bin: z.string().optional().describe('iyzico: the first 6 to 8 digits of the card, checked against iyzico\'s installment query'),
});

const planJson = (plan: InstallmentPlan | null) => plan && { offers: plan.offers.map((o) => ({ count: o.count, surchargeBp: o.surchargeBp, surcharge: surchargeText(o.surchargeBp) })), minAmountMinor: plan.minAmountMinor };
const quoteJson = (q: InstallmentQuote) => ({ count: q.count, surchargeBp: q.surchargeBp, surchargeMinor: q.surchargeMinor, totalMinor: q.totalMinor, eachMinor: q.eachMinor, lastMinor: q.lastMinor });


export function installmentApiRoutes(deps: Deps): Router {
  const r = Router();
  const settings = async (seller: string | null) => {
    const account = await getGatewayAccount(deps, seller);
    return { gateway: account?.kind ?? null, available: Boolean(account && offersInstallments(account.kind)), plan: planJson(planOf(account)) };
  };
  r.get('/installments', async (req, res) => {
    res.json(await settings(await sellerOfCaller(deps, req)));
  });
  r.put('/installments', async (req, res) => {
    const seller = await sellerOfCaller(deps, req);
    requireRole(actorOf(req), 'admin');
    const body = parse(installmentsBodySchema, req.body ?? {});
    // The page's form, from JSON: the same parser, messages and audit.
    const form: Record<string, unknown> = {};
    for (const [i, o] of body.offers.entries()) {
      if (!isInstallmentCount(o.count) || body.offers.findIndex((x) => x.count === o.count) !== i) throw new ValidationError({ [`offers.${i}.count`]: 'installments:errors.notOffered' });
      form[`offer_${o.count}`] = 'on';
      form[`surcharge_${o.count}`] = o.surcharge === undefined ? '' : String(o.surcharge);
    }
    if (body.minAmountMinor) form.minAmount = `${Math.trunc(body.minAmountMinor / 100)}.${String(body.minAmountMinor % 100).padStart(2, '0')}`;
    await saveInstallmentPlan(deps, actorOf(req), seller, form);
    res.json(await settings(seller));
  });

  /** A pending payment of the caller's (as buyer); anyone else's is not found. */
  const buyerPayment = async (req: Request) => {
    const actor = actorOf(req);
    requireBilling(actor);
    const buyer = buyerOf(actor);
    const [p] = await deps.db.select().from(payments).where(eq(payments.id, String(req.params.id)));
    if (!p || p.buyerAgencyId !== buyer.agencyId || (p.buyerSubAccountId ?? null) !== buyer.subAccountId) throw errors.notFound('Payment');
    return p;
  };
  const choiceJson = async (p: Awaited<ReturnType<typeof buyerPayment>>) => {
    const choice = await installmentChoice(deps, p);
    return {
      paymentId: p.id, status: p.status, amountMinor: p.amountMinor, currency: p.currency, installments: p.installments, installmentSurchargeMinor: p.installmentSurchargeMinor,
      choice: choice && { gateway: choice.gateway, single: quoteJson(choice.single), options: choice.options.map(quoteJson) },
    };
  };
  r.get('/payments/:id/installments', async (req, res) => {
    res.json(await choiceJson(await buyerPayment(req)));
  });
  r.post('/payments/:id/installments', async (req, res) => {
    const payment = await buyerPayment(req);
    const body = parse(installmentChoiceBodySchema, req.body ?? {});
    const chosen = await chooseInstallments(deps, { payment, count: typeof body.count === 'number' ? body.count : body.count.trim(), bin: body.bin });
    res.json(await choiceJson(chosen));
  });
  return r;
}
