import { Router, type Request, type Response } from 'express';
import {
  adjustmentFormSchema, adjustSubAccountCredits, getBalance, historyCsv, listCreditHistory, resolveCreditOwner, setLowBalanceThreshold,
} from '../../credits/credits.usecases';
import type { AccountOwner } from '../../credits/ledger';
import { labelReferences } from '../../credits/references';
import {
  archiveDepartment, createDepartment, departmentFormSchema, listDepartments, setSubAccountDepartments, updateDepartment,
} from '../../departments/departments.usecases';
import type { Deps } from '../../deps';
import { ledgerReasons } from '../../../db/schema';
import { parse } from '../../lib/validation';
import { randomToken } from '../../lib/tokens';
import { getSubAccount } from '../../tenancy/sub-accounts.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

/** Balance, lots and filtered history of one account, as page locals. */
async function creditLocals(deps: Deps, req: Request, owner: AccountOwner, query: unknown) {
  const [balance, history] = await Promise.all([getBalance(deps, owner), listCreditHistory(deps, owner, query)]);
  const actor = actorOf(req);
  // References read as names with links ("Purchase of Starter for Cafe Lumen"), never raw ids.
  const references = await labelReferences(deps.db, { agencyId: owner.agencyId, scope: actor.scope, billing: actor.billing, t: req.t, fmt: req.fmt }, history.entries.map((e) => e.reference));
  return { balance, entries: history.entries, filter: history.filter, reasons: ledgerReasons, references };
}

async function sendCsv(deps: Deps, res: Response, owner: AccountOwner, query: unknown, name: string) {
  const { entries } = await listCreditHistory(deps, owner, { ...(query as object), limit: 10_000 });
  res.type('text/csv').attachment(`${name}-credit-history.csv`).send(historyCsv(entries));
}

const thresholdInput = (req: Request) => {
  const raw = String((req.body as { threshold?: string }).threshold ?? '').trim();
  return { threshold: raw === '' ? null : /^\d+$/.test(raw) ? Number(raw) : raw };
};

/** Credit screens of the agency console. */
export function agencyCreditRoutes(deps: Deps): Router {
  const r = Router();
  r.use(requireUser('agency'));

  const poolOwner = (req: Request) => resolveCreditOwner(deps, actorOf(req));
  const poolLocals = async (req: Request) => ({ title: req.t('credits:title'), ...(await creditLocals(deps, req, await poolOwner(req), req.query)), csvBase: '/agency/credits.csv', thresholdAction: '/agency/credits/threshold' });
  r.get('/credits', async (req, res) => {
    await page(res, 'credits', await poolLocals(req));
  });
  r.get('/credits.csv', async (req, res) => sendCsv(deps, res, await poolOwner(req), req.query, 'pool'));
  r.post('/credits/threshold', formAction({
    view: 'credits', locals: poolLocals,
    action: async (req, res) => {
      await setLowBalanceThreshold(deps, { actor: actorOf(req), owner: await poolOwner(req), input: thresholdInput(req) });
      flash(req, 'credits:flash.thresholdSaved');
      res.redirect('/agency/credits');
    },
  }));

  const subOwner = (req: Request) => resolveCreditOwner(deps, actorOf(req), String(req.params.id));
  const subLocals = async (req: Request) => {
    const sub = await getSubAccount(deps, { actor: actorOf(req), subAccountId: String(req.params.id) });
    return {
      title: req.t('credits:titleOf', { name: sub.name }), sub, ...(await creditLocals(deps, req, await subOwner(req), req.query)),
      csvBase: `/agency/sub-accounts/${sub.id}/credits.csv`, thresholdAction: `/agency/sub-accounts/${sub.id}/credits/threshold`,
      adjustAction: `/agency/sub-accounts/${sub.id}/credits/adjustments`,
      // One key per rendered form: a double submit applies the adjustment once.
      adjustKey: randomToken(12),
    };
  };
  r.get('/sub-accounts/:id/credits', async (req, res) => {
    await page(res, 'credits', await subLocals(req));
  });
  r.get('/sub-accounts/:id/credits.csv', async (req, res) => sendCsv(deps, res, await subOwner(req), req.query, String(req.params.id)));
  r.post('/sub-accounts/:id/credits/adjustments', formAction({
    view: 'credits', locals: subLocals,
    action: async (req, res) => {
      const form = parse(adjustmentFormSchema, req.body);
      const key = String((req.body as { idempotencyKey?: string }).idempotencyKey ?? '').slice(0, 100) || null;
      const result = await adjustSubAccountCredits(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: form, idempotencyKey: key });
      flash(req, req.t('credits:flash.adjusted', { delta: (form.credits > 0 ? '+' : '') + req.fmt.number(form.credits), balance: req.fmt.number(result.balance), pool: req.fmt.number(result.poolBalance ?? 0) }));
      res.redirect(`/agency/sub-accounts/${req.params.id}/credits`);
    },
  }));
  r.post('/sub-accounts/:id/credits/threshold', formAction({
    view: 'credits', locals: subLocals,
    action: async (req, res) => {
      await setLowBalanceThreshold(deps, { actor: actorOf(req), owner: await subOwner(req), input: thresholdInput(req) });
      flash(req, 'credits:flash.thresholdSaved');
      res.redirect(`/agency/sub-accounts/${req.params.id}/credits`);
    },
  }));

  const deptLocals = async (req: Request) => ({ title: req.t('credits:departments.title'), departments: await listDepartments(deps, { actor: actorOf(req) }) });
  r.get('/departments', async (req, res) => {
    await page(res, 'agency/departments', await deptLocals(req));
  });
  r.post('/departments', formAction({
    view: 'agency/departments', locals: deptLocals,
    action: async (req, res) => {
      const form = parse(departmentFormSchema, req.body);
      const dep = await createDepartment(deps, { actor: actorOf(req), input: form });
      flash(req, req.t('credits:departments.created', { name: dep.name }));
      res.redirect('/agency/departments');
    },
  }));
  r.post('/departments/:id', formAction({
    view: 'agency/departments', locals: deptLocals,
    action: async (req, res) => {
      const form = parse(departmentFormSchema, req.body);
      await updateDepartment(deps, { actor: actorOf(req), departmentId: String(req.params.id), input: form });
      flash(req, 'credits:departments.saved');
      res.redirect('/agency/departments');
    },
  }));
  r.post('/departments/:id/archive', async (req, res) => {
    await archiveDepartment(deps, { actor: actorOf(req), departmentId: String(req.params.id) });
    flash(req, 'credits:departments.archived');
    res.redirect('/agency/departments');
  });

  r.post('/sub-accounts/:id/departments', async (req, res) => {
    const raw = (req.body as { departmentIds?: string | string[] }).departmentIds;
    const departmentIds = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    await setSubAccountDepartments(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: { departmentIds } });
    flash(req, 'credits:departments.assigned');
    res.redirect(`/agency/sub-accounts/${req.params.id}`);
  });
  return r;
}

/** Credit screens of the sub-account portal (read-only, plus its own threshold). */
export function portalCreditRoutes(deps: Deps): Router {
  const r = Router();
  r.use(requireUser('sub_account'));
  const owner = (req: Request) => resolveCreditOwner(deps, actorOf(req));
  const locals = async (req: Request) => ({ title: req.t('credits:title'), ...(await creditLocals(deps, req, await owner(req), req.query)), csvBase: '/portal/credits.csv', thresholdAction: '/portal/credits/threshold' });
  r.get('/credits', async (req, res) => {
    await page(res, 'credits', await locals(req));
  });
  r.get('/credits.csv', async (req, res) => sendCsv(deps, res, await owner(req), req.query, 'balance'));
  r.post('/credits/threshold', formAction({
    view: 'credits', locals,
    action: async (req, res) => {
      await setLowBalanceThreshold(deps, { actor: actorOf(req), owner: await owner(req), input: thresholdInput(req) });
      flash(req, 'credits:flash.thresholdSaved');
      res.redirect('/portal/credits');
    },
  }));
  return r;
}

