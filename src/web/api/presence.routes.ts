import { Router, type Request } from 'express';
import type { Deps } from '../../deps';
import { getPresence, listPresence, setMemberPresence, type PresenceRow } from '../../users/presence';
import { actorOf } from '../middleware';

const presenceJson = (p: PresenceRow) => ({ userId: p.userId, name: p.name, email: p.email, role: p.role, status: p.status, statusChangedAt: p.statusChangedAt?.toISOString() ?? null });
/** An agency key may name one of its sub-accounts (`?subAccountId=`); every other key reads its own tenant. */
const subAccountOf = (req: Request) => (typeof req.query.subAccountId === 'string' && req.query.subAccountId ? { subAccountId: req.query.subAccountId } : {});

/**
 * People and their online status (Online, Busy, Be Right Back, Offline), for the chat product
 * that shows them: the key's own tenant only (an agency key: its staff, or one of its
 * sub-accounts' people). Anyone outside it is "not found".
 */
export function presenceApiRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/members', async (req, res) => {
    res.json({ data: (await listPresence(deps, { actor: actorOf(req), ...subAccountOf(req) })).map(presenceJson) });
  });
  r.get('/members/:userId', async (req, res) => {
    res.json(presenceJson(await getPresence(deps, { actor: actorOf(req), userId: String(req.params.userId), ...subAccountOf(req) })));
  });
  r.put('/members/:userId/status', async (req, res) => {
    res.json(presenceJson(await setMemberPresence(deps, { actor: actorOf(req), userId: String(req.params.userId), ...subAccountOf(req), input: req.body ?? {} })));
  });
  return r;
}
