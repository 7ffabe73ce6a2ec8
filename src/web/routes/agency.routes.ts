import { Router, type Request } from 'express';
import { createApiKey, listApiKeys, resolveKeyOwner, revokeApiKey } from '../../api-keys/api-keys.usecases';
import type { Deps } from '../../deps';
import { createSubAccount, getSubAccount, listSubAccounts } from '../../tenancy/sub-accounts.usecases';
import { inviteUser, listMembers } from '../../users/users.usecases';
import { agencyBalances } from '../../credits/credits.usecases';
import { getAgency, updateAgencySettings } from '../../tenancy/agencies.usecases';
import { updateAgencyBrand } from '../../branding/brand.usecases';
import { enabledDepartmentIds, listDepartments } from '../../departments/departments.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page, renderPartial } from '../render';
import { clientOverview, clientStates, viewClientPortal } from '../../tenancy/client-overview';
import { reactivateSubAccount, suspendSubAccount } from '../../suspension/manual-suspension';
import { clientHome } from '../../dashboard/client-home';
import { formatInvoiceNumber } from '../../billing/invoice-numbers';
import type { WebContext } from '../app';

export function agencyRoutes(deps: Deps, web: WebContext): Router {
  const r = Router();
  r.use(requireUser('agency'));

  const listLocals = async (req: Request) => {
    const actor = actorOf(req);
    const subs = await listSubAccounts(deps, { actor });
    // The state the client's portal is in (over limits locks it too), not only the status column;
    // the balances of the pool and of the listed clients only.
    const [states, balances] = await Promise.all([clientStates(deps, { actor, subs }), agencyBalances(deps, actor.agencyId!, subs.map((s) => s.id))]);
    return { title: req.t('nav:subAccounts'), subAccounts: subs, states, balances };
  };
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
        flash(req, req.t('agency:flash.subAccountCreated', { name: sub.name }));
        res.redirect(`/agency/sub-accounts/${sub.id}`);
      },
    }),
  );

  const detailLocals = async (req: Request) => {
    const actor = actorOf(req);
    const sub = await getSubAccount(deps, { actor, subAccountId: String(req.params.id) });
    // Independent reads, side by side; the balance is the overview's own.
    const [overview, departments, enabled, members, keys] = await Promise.all([
      clientOverview(deps, { actor, subAccountId: sub.id, sub }),
      listDepartments(deps, { actor }),
      enabledDepartmentIds(deps, sub.id),
      listMembers(deps, { actor, subAccountId: sub.id, sub }),
      listApiKeys(deps, { owner: { scope: 'sub_account', agencyId: sub.agencyId, subAccountId: sub.id } }),
    ]);
    return {
      title: sub.name,
      sub,
      balance: overview.balance,
      overview,
      formatInvoiceNumber,
      money: req.fmt.money,
      departments,
      enabled,
      members,
      keys,
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
        flash(req, req.t('team:flash.invited', { email: inv.email }));
        res.redirect(`/agency/sub-accounts/${req.params.id}`);
      },
    }),
  );
  // Suspension by hand (agency admins with the billing permission; audit-logged in the use case).
  r.post(
    '/sub-accounts/:id/suspend',
    formAction({
      view: 'agency/sub-account',
      locals: detailLocals,
      action: async (req, res) => {
        const sub = await suspendSubAccount(deps, { actor: actorOf(req), subAccountId: String(req.params.id), input: req.body });
        flash(req, req.t('agency:flash.suspended', { name: sub.name }));
        res.redirect(`/agency/sub-accounts/${sub.id}`);
      },
    }),
  );
  r.post(
    '/sub-accounts/:id/reactivate',
    formAction({
      view: 'agency/sub-account',
      locals: detailLocals,
      action: async (req, res) => {
        const sub = await reactivateSubAccount(deps, { actor: actorOf(req), subAccountId: String(req.params.id) });
        flash(req, req.t('agency:flash.reactivated', { name: sub.name }));
        res.redirect(`/agency/sub-accounts/${sub.id}`);
      },
    }),
  );
  // "View the portal as this client": the portal home rendered for the agency, read only. It is a
  // GET under /agency with the agency's own session: no portal route accepts that session, so
  // nothing can be done as the client from here, whatever the page shows.
  r.get('/sub-accounts/:id/portal', async (req, res) => {
    const view = await viewClientPortal(deps, { actor: actorOf(req), subAccountId: String(req.params.id) });
    const principal = req.user!;
    const asClient = {
      ...principal, agencyName: view.agencyName, tenantName: view.sub.name,
      actor: { ...principal.actor, scope: 'sub_account' as const, subAccountId: view.sub.id, role: 'member' as const, billing: false },
    };
    const home = await clientHome(deps, { agencyId: view.sub.agencyId, subAccountId: view.sub.id }, req.lang);
    const portalHtml = await renderPartial(res, 'portal/home', { ...res.locals, principal: asClient, sub: view.sub, home, money: req.fmt.money, readOnly: true });
    await page(res, 'agency/sub-account-portal', { title: req.t('agency:portalView.title', { name: view.sub.name }), sub: view.sub, portalHtml });
  });
  r.post('/sub-accounts/:id/api-keys', async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { subAccountId: String(req.params.id) });
    const { key } = await createApiKey(deps, { actor, owner, input: req.body });
    flash(req, 'team:flash.subAccountKeyCreated', 'success', key);
    res.redirect(`/agency/sub-accounts/${req.params.id}`);
  });
  r.post('/sub-accounts/:id/api-keys/:keyId/revoke', async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { subAccountId: String(req.params.id) });
    const key = await revokeApiKey(deps, { actor, owner, keyId: String(req.params.keyId) });
    web.keyCache.invalidateKey(key.id);
    flash(req, 'team:flash.keyRevoked');
    res.redirect(`/agency/sub-accounts/${req.params.id}`);
  });

  const settingsLocals = async (req: Request) => ({ title: req.t('nav:agencySettings'), agency: await getAgency(deps, { actor: actorOf(req), agencyId: actorOf(req).agencyId! }) });
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
        flash(req, 'agency:flash.settingsSaved');
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
        flash(req, 'agency:flash.brandSaved');
        res.redirect('/agency/settings');
      },
    }),
  );
  return r;
}
