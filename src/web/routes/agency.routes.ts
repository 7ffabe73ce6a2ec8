import { Router, type Request } from 'express';
import { createApiKey, listApiKeys, resolveKeyOwner, revokeApiKey } from '../../api-keys/api-keys.usecases';
import type { Deps } from '../../deps';
import { createSubAccount, getSubAccount, listSubAccounts } from '../../tenancy/sub-accounts.usecases';
import { inviteUser, listMembers } from '../../users/users.usecases';
import { agencyBalances, getBalance } from '../../credits/credits.usecases';
import { getAgency, updateAgencySettings } from '../../tenancy/agencies.usecases';
import { updateAgencyBrand } from '../../branding/brand.usecases';
import { enabledDepartmentIds, listDepartments } from '../../departments/departments.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';
import type { WebContext } from '../app';

export function agencyRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.use(requireUser('agency'));

  r.get('/', (_req, res) => res.redirect('/agency/sub-accounts'));

  const listLocals = async (req: Request) => ({
    title: 'Sub-accounts',
    subAccounts: await listSubAccounts(deps, { actor: actorOf(req) }),
    balances: await agencyBalances(deps, actorOf(req).agencyId!),
  });
  r.get('/sub-accounts', async (req, res) => {
    await page(res, 'agency/sub-accounts', await listLocals(req));
  });
  r.post(
    '/sub-accounts',
    formAction({
      view: 'agency/sub-accounts',
      locals: listLocals,
      action: async (req, res) => {
        const sub = await createSubAccount(deps, { actor: actorOf(req), input: req.body });
        flash(req, `Sub-account ${sub.name} created.`);
        res.redirect(`/agency/sub-accounts/${sub.id}`);
      },
    }),
  );

  const detailLocals = async (req: Request) => {
    const actor = actorOf(req);
    const sub = await getSubAccount(deps, { actor, subAccountId: String(req.params.id) });
    const [balance, departments, enabled] = await Promise.all([
      getBalance(deps, { agencyId: sub.agencyId, subAccountId: sub.id }),
      listDepartments(deps, { actor }),
      enabledDepartmentIds(deps, sub.id),
    ]);
    return {
      title: sub.name,
      sub,
      balance,
      departments,
      enabled,
      members: await listMembers(deps, { actor, subAccountId: sub.id }),
      keys: await listApiKeys(deps, { owner: { scope: 'sub_account', agencyId: sub.agencyId, subAccountId: sub.id } }),
    };
  };
  r.get('/sub-accounts/:id', async (req, res) => {
    await page(res, 'agency/sub-account', await detailLocals(req));
  });
  r.post(
    '/sub-accounts/:id/invitations',
    formAction({
      view: 'agency/sub-account',
      locals: detailLocals,
      action: async (req, res) => {
        const inv = await inviteUser(deps, { actor: actorOf(req), input: { ...(req.body as object), subAccountId: String(req.params.id) } });
        flash(req, `Invitation sent to ${inv.email}.`);
        res.redirect(`/agency/sub-accounts/${req.params.id}`);
      },
    }),
  );
  r.post('/sub-accounts/:id/api-keys', async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { subAccountId: String(req.params.id) });
    const { key } = await createApiKey(deps, { actor, owner, input: req.body });
    flash(req, 'Sub-account API key created. Copy it now: it will not be shown again.', 'success', key);
    res.redirect(`/agency/sub-accounts/${req.params.id}`);
  });
  r.post('/sub-accounts/:id/api-keys/:keyId/revoke', async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { subAccountId: String(req.params.id) });
    const key = await revokeApiKey(deps, { actor, owner, keyId: String(req.params.keyId) });
    web.keyCache.invalidateKey(key.id);
    flash(req, 'API key revoked.');
    res.redirect(`/agency/sub-accounts/${req.params.id}`);
  });

  const settingsLocals = async (req: Request) => ({ title: 'Settings', agency: await getAgency(deps, { actor: actorOf(req), agencyId: actorOf(req).agencyId! }) });
  r.get('/settings', async (req, res) => {
    await page(res, 'agency/settings', await settingsLocals(req));
  });
  r.post(
    '/settings',
    formAction({
      view: 'agency/settings',
      locals: settingsLocals,
      action: async (req, res) => {
        // An unticked checkbox sends nothing: on this form that means "off".
        const body = req.body as Record<string, unknown>;
        await updateAgencySettings(deps, { actor: actorOf(req), input: { ...body, restrictDepartmentsToPackages: body.restrictDepartmentsToPackages ?? '' } });
        flash(req, 'Settings saved.');
        res.redirect('/agency/settings');
      },
    }),
  );
  r.post(
    '/settings/brand',
    formAction({
      view: 'agency/settings',
      locals: settingsLocals,
      action: async (req, res) => {
        await updateAgencyBrand(deps, { actor: actorOf(req), input: req.body });
        flash(req, 'Brand saved: your clients see it from now on.');
        res.redirect('/agency/settings');
      },
    }),
  );
  return r;
}
