import { Router, type Request } from 'express';
import type { Scope } from '../../../db/schema';
import { createApiKey, listApiKeys, resolveKeyOwner, revokeApiKey } from '../../api-keys/api-keys.usecases';
import type { Deps } from '../../deps';
import { inviteUser, listMembers } from '../../users/users.usecases';
import { actorOf, requireUser } from '../middleware';
import { flash, formAction, page } from '../render';
import type { WebContext } from '../app';

/**
 * Team and API keys of the signed-in user's own tenant, the same screens at every level:
 * /platform, /agency and /portal.
 */
export function tenantRoutes(deps: Deps, web: WebContext, base: string, scope: Scope): Router {
  const r = Router();
  r.use(['/team', '/api-keys'], requireUser(scope));

  const teamLocals = async (req: Request) => ({
    title: req.t('nav:team'),
    base,
    members: await listMembers(deps, { actor: actorOf(req) }),
  });
  r.get('/team', async (req, res) => {
    await page(res, 'team', await teamLocals(req));
  });
  r.post(
    '/team/invitations',
    formAction({
      view: 'team',
      locals: teamLocals,
      action: async (req, res) => {
        const body = { ...(req.body as object), subAccountId: undefined };
        const inv = await inviteUser(deps, { actor: actorOf(req), input: body });
        flash(req, req.t('team:flash.invited', { email: inv.email }));
        res.redirect(`${base}/team`);
      },
    }),
  );

  const keysLocals = async (req: Request) => ({
    title: req.t('nav:apiKeys'),
    base,
    keys: await listApiKeys(deps, { owner: await resolveKeyOwner(deps, actorOf(req), {}) }),
  });
  r.get('/api-keys', async (req, res) => {
    await page(res, 'api-keys', await keysLocals(req));
  });
  r.post(
    '/api-keys',
    formAction({
      view: 'api-keys',
      locals: keysLocals,
      action: async (req, res) => {
        const actor = actorOf(req);
        const { key } = await createApiKey(deps, { actor, owner: await resolveKeyOwner(deps, actor, {}), input: req.body });
        flash(req, 'team:flash.keyCreated', 'success', key);
        res.redirect(`${base}/api-keys`);
      },
    }),
  );
  r.post('/api-keys/:id/revoke', async (req, res) => {
    const actor = actorOf(req);
    const key = await revokeApiKey(deps, { actor, owner: await resolveKeyOwner(deps, actor, {}), keyId: String(req.params.id) });
    web.keyCache.invalidateKey(key.id);
    flash(req, 'team:flash.keyRevoked');
    res.redirect(`${base}/api-keys`);
  });
  return r;
}
