import { Router, type Request } from 'express';
import { createApiKey, listApiKeys, resolveKeyOwner } from '../../api-keys/api-keys.usecases';
import { listPlans } from '../../catalog/catalog.usecases';
import type { Deps } from '../../deps';
import { createAgency, getAgency, listAgencies, updateAgencyFlags } from '../../tenancy/agencies.usecases';
import { inviteUser, listMembers } from '../../users/users.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

export function platformRoutes(deps: Deps): Router {
  const r = Router();
  r.use(requireUser('platform'));


  const plans = async () => (await listPlans(deps)).filter((p) => p.published);
  const listLocals = async (req: Request) => {
    const all = await listPlans(deps);
    return { title: req.t('nav:agencies'), agencies: await listAgencies(deps, { actor: actorOf(req) }), plans: all.filter((p) => p.published), planNames: Object.fromEntries(all.map((p) => [p.code, p.name])) };
  };
  r.get('/agencies', async (req, res) => {
    await page(res, 'platform/agencies', await listLocals(req));
  });
  r.post(
    '/agencies',
    formAction({
      view: 'platform/agencies',
      locals: listLocals,
      action: async (req, res) => {
        const agency = await createAgency(deps, { actor: actorOf(req), input: req.body });
        flash(req, req.t('platform:flash.agencyCreated', { name: agency.name }));
        res.redirect(`/platform/agencies/${agency.id}`);
      },
    }),
  );

  const detailLocals = async (req: Request) => {
    const actor = actorOf(req);
    const agency = await getAgency(deps, { actor, agencyId: String(req.params.id) });
    const owner = { scope: 'agency' as const, agencyId: agency.id, subAccountId: null };
    return {
      title: agency.name,
      agency,
      members: await listMembers(deps, { actor: { ...actor, scope: 'agency', agencyId: agency.id } }),
      keys: await listApiKeys(deps, { owner }),
      plans: await plans(),
    };
  };
  r.get('/agencies/:id', async (req, res) => {
    await page(res, 'platform/agency', await detailLocals(req));
  });
  r.post(
    '/agencies/:id/flags',
    formAction({
      view: 'platform/agency',
      locals: detailLocals,
      action: async (req, res) => {
        await updateAgencyFlags(deps, { actor: actorOf(req), agencyId: String(req.params.id), input: req.body });
        flash(req, 'platform:flash.agencyUpdated');
        res.redirect(`/platform/agencies/${req.params.id}`);
      },
    }),
  );
  r.post(
    '/agencies/:id/invitations',
    formAction({
      view: 'platform/agency',
      locals: detailLocals,
      action: async (req, res) => {
        const inv = await inviteUser(deps, { actor: actorOf(req), input: req.body, agencyIdForPlatform: String(req.params.id) });
        flash(req, req.t('team:flash.invited', { email: inv.email }));
        res.redirect(`/platform/agencies/${req.params.id}`);
      },
    }),
  );
  r.post('/agencies/:id/api-keys', async (req, res) => {
    const actor = actorOf(req);
    const owner = await resolveKeyOwner(deps, actor, { agencyId: String(req.params.id) });
    const { key } = await createApiKey(deps, { actor, owner, input: req.body });
    flash(req, 'team:flash.agencyKeyCreated', 'success', key);
    res.redirect(`/platform/agencies/${req.params.id}`);
  });
  return r;
}
