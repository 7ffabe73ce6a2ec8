import { Router } from 'express';
import type { Deps } from '../../deps';
import { checkReadiness } from '../../health/readiness';

/** Probes (docs/operations.md): /healthz is liveness, /readyz readiness. */
export function healthRoutes(deps: Deps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  r.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(deps);
    res.status(readiness.ready ? 200 : 503).set('Cache-Control', 'no-store').json(readiness);
  });
  return r;
}
