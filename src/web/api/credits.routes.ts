import { Router, type Request, type Response } from 'express';
import {
  adjustAgencyPool, adjustSubAccountCredits, getBalance, listCreditHistory, resolveCreditOwner, setLowBalanceThreshold, type BalanceView,
} from '../../credits/credits.usecases';
import {
  archiveDepartment, createDepartment, enabledDepartmentIds, listDepartments, setSubAccountDepartments, updateDepartment, type Department,
} from '../../departments/departments.usecases';
import type { Deps } from '../../deps';
import { poolCredited } from '../../purchases/waiting-grants';
import { getSubAccount } from '../../tenancy/sub-accounts.usecases';
import { recordUsageBatchWithAutoBilling, recordUsageWithAutoBilling } from '../../auto-billing/usage-hook';
import type { BatchResult } from '../../usage/usage.usecases';
import type { WebContext } from '../app';
import { actorOf, requireKeyScope } from '../middleware';
import { packageState } from '../../purchases/purchases.usecases';
import { packageStateJson } from './serializers';
import { apiLang, fixedTexts } from './text';
import { localize, tFor, type Lang } from '../../i18n/i18n';
import { readMessage } from '../../lib/message';
import { usageErrors } from '../../usage/usage-recorder';
import type * as A from './schemas';
import type { Answer } from './schemas';

const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const idem = (req: Request) => req.get('idempotency-key') ?? null;

export const departmentJson = (d: Department): Answer<typeof A.Department> => ({ id: d.id, name: d.name, creditsPerRequest: d.creditsPerRequest, createdAt: d.createdAt.toISOString() });
export const balanceJson = (b: BalanceView): Answer<typeof A.Balance> => ({
  balance: b.balance,
  lowBalanceThreshold: b.lowBalanceThreshold,
  lots: b.lots.map((l) => ({ id: l.id, source: l.source, amount: l.amount, remaining: l.remaining, expiresAt: l.expiresAt?.toISOString() ?? null, createdAt: l.createdAt.toISOString() })),
});

/**
 * The hot path (DESIGN section 3): sub-account keys charge their balance, agency keys their pool.
 * createApp registers these on the app itself, ahead of the API router: each level of router
 * nesting a request passes through costs measurable time per request.
 */
export function usageHandlers(deps: Deps, web: WebContext) {
  const text = fixedTexts([...Object.values(usageErrors).map((refusal) => (refusal() as { message: string }).message), 'This event is not valid.']);
  const fieldTexts = (lang: Lang, fields: Record<string, string>) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, localize(tFor(lang), v)]));
  return {
    // Out of credits: auto-billing (when on) buys them and the request goes on (src/auto-billing).
    single: async (req: Request, res: Response) => {
      const result = await recordUsageWithAutoBilling(deps, web.recorder, actorOf(req), body(req));
      if (result.status === 200) return void res.json({ charged: result.charged, balance: result.balance });
      if (result.retryAfterSeconds) res.set('Retry-After', String(result.retryAfterSeconds));
      res.status(result.status).json({ error: result.error, message: text(apiLang(req), result.message), requestId: String(req.id) });
    },
    batch: async (req: Request, res: Response) => {
      const results = await recordUsageBatchWithAutoBilling(deps, web.recorder, actorOf(req), body(req));
      const retryAfter = Math.max(0, ...results.map((r) => ('retryAfterSeconds' in r && r.retryAfterSeconds) || 0));
      if (retryAfter > 0) res.set('Retry-After', String(retryAfter));
      const lang = apiLang(req);
      res.json({ results: results.map(({ retryAfterSeconds: _r, ...rest }: BatchResult & { retryAfterSeconds?: number }) => ('message' in rest && typeof rest.message === 'string' ? { ...rest, message: text(lang, rest.message), ...('fields' in rest && rest.fields ? { fields: fieldTexts(lang, rest.fields) } : {}) } : rest)) });
    },
  };
}

/** Credits and departments (DESIGN sections 2 and 3). */
/**
 * A ledger entry. A note Kontor writes is stored as a catalog key (docs/i18n.md): `note` gives its
 * English text, as entries always read, and `noteKey` the key to show it in any language; a note
 * someone typed (an adjustment's) is as written, `noteKey` null.
 */
const entryJson = <E extends { createdAt: Date; note: string | null }>(e: E) => {
  const key = e.note ? readMessage(e.note).key : null;
  return { ...e, createdAt: e.createdAt.toISOString(), note: e.note && key ? localize(tFor('en'), e.note) : e.note, noteKey: key };
};

export function creditRoutes(deps: Deps): Router {
  const r = Router();

  r.get('/balance', async (req, res) => {
    const owner = await resolveCreditOwner(deps, actorOf(req));
    const balance = balanceJson(await getBalance(deps, owner));
    res.json(owner.subAccountId ? { ...balance, ...packageStateJson(await packageState(deps, owner.subAccountId)) } : balance);
  });
  r.get('/credit-history', async (req, res) => {
    const { entries } = await listCreditHistory(deps, await resolveCreditOwner(deps, actorOf(req)), req.query);
    res.json({ data: entries.map(entryJson) });
  });
  r.put('/low-balance-threshold', async (req, res) => {
    const actor = actorOf(req);
    res.json({ threshold: await setLowBalanceThreshold(deps, { actor, owner: await resolveCreditOwner(deps, actor), input: body(req) }) });
  });

  // Agency: its sub-accounts' credits and departments.
  r.get('/sub-accounts/:id/balance', requireKeyScope('agency'), async (req, res) => {
    res.json(balanceJson(await getBalance(deps, await resolveCreditOwner(deps, actorOf(req), String(req.params.id)))));
  });
  r.get('/sub-accounts/:id/credit-history', requireKeyScope('agency'), async (req, res) => {
    const { entries } = await listCreditHistory(deps, await resolveCreditOwner(deps, actorOf(req), String(req.params.id)), req.query);
    res.json({ data: entries.map(entryJson) });
  });
  r.put('/sub-accounts/:id/low-balance-threshold', requireKeyScope('agency'), async (req, res) => {
    const actor = actorOf(req);
    res.json({ threshold: await setLowBalanceThreshold(deps, { actor, owner: await resolveCreditOwner(deps, actor, String(req.params.id)), input: body(req) }) });
  });
  r.post('/sub-accounts/:id/adjustments', requireKeyScope('agency'), async (req, res) => {
    const result = await adjustSubAccountCredits(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: body(req), idempotencyKey: idem(req) });
    res.status(result.replayed ? 200 : 201).json(result);
  });
  r.post('/agencies/:id/adjustments', requireKeyScope('platform'), async (req, res) => {
    const result = await adjustAgencyPool(deps, { actor: actorOf(req), agencyId: String(req.params.id), input: body(req), idempotencyKey: idem(req) });
    if (!result.replayed) await poolCredited(deps, String(req.params.id));
    res.status(result.replayed ? 200 : 201).json(result);
  });

  r.get('/departments', requireKeyScope('agency'), async (req, res) => {
    res.json({ data: (await listDepartments(deps, { actor: actorOf(req) })).map(departmentJson) });
  });
  r.post('/departments', requireKeyScope('agency'), async (req, res) => {
    res.status(201).json(departmentJson(await createDepartment(deps, { actor: actorOf(req), input: body(req) })));
  });
  r.patch('/departments/:id', requireKeyScope('agency'), async (req, res) => {
    res.json(departmentJson(await updateDepartment(deps, { actor: actorOf(req), departmentId: String(req.params.id), input: body(req) })));
  });
  r.delete('/departments/:id', requireKeyScope('agency'), async (req, res) => {
    await archiveDepartment(deps, { actor: actorOf(req), departmentId: String(req.params.id) });
    res.status(204).end();
  });
  r.get('/sub-accounts/:id/departments', requireKeyScope('agency'), async (req, res) => {
    const sub = await getSubAccount(deps, { actor: actorOf(req), subAccountId: String(req.params.id) });
    res.json({ departmentIds: await enabledDepartmentIds(deps, sub.id) });
  });
  r.put('/sub-accounts/:id/departments', requireKeyScope('agency'), async (req, res) => {
    res.json({ departmentIds: await setSubAccountDepartments(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: body(req) }) });
  });
  return r;
}
