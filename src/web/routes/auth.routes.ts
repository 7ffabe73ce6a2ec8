import { Router, type Request, type Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type passportLib from 'passport';
import type { Deps } from '../../deps';
import { signInCounts } from '../../users/sign-in-throttle';
import { acceptInvitation, findInvitation } from '../../users/users.usecases';
import { flash, formAction, page } from '../render';
import { requireUser } from '../middleware';
import { useBrand } from '../brand';
import { PLATFORM_BRAND, agencyBrand } from '../../branding/brand';

const homeOf = (req: Request) =>
  !req.user ? '/login' : req.user.actor.scope === 'platform' ? '/platform' : req.user.actor.scope === 'agency' ? '/agency' : '/portal';

/** Only same-site paths are followed after login (no open redirects). */
const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?!\/)[\w\-/?=&%.]*$/.test(next) ? next : null);

export function authRoutes(deps: Deps, passport: InstanceType<typeof passportLib.Passport>): Router {
  const r = Router();

  r.get('/', (req, res) => res.redirect(homeOf(req)));

  r.get('/login', async (req, res) => {
    if (req.user) return res.redirect(homeOf(req));
    await page(res, 'login', { title: req.t('auth:signIn'), next: safeNext(req.query.next) ?? '' });
  });

  // Failed attempts are counted per client address (whatever the emails) and per address and
  // email, in Redis when configured or else in the database, so every web process shares them; a
  // success does not count.
  const counts = signInCounts(deps.db, deps.config.redisUrl ? { url: deps.config.redisUrl, prefix: deps.config.queuePrefix, logger: deps.logger } : undefined);
  const limited = { address: 'auth:error.tooManyFromNetwork', email: 'auth:error.tooManyForEmail' };

  r.post('/login', async (req, res, next) => {
    const body = (req.body ?? {}) as { email?: string; password?: string; next?: string };
    const email = String(body.email ?? '').trim();
    const password = String(body.password ?? '');
    const again = (status: number, errors: Record<string, string>, formError?: string) =>
      page(res, 'login', { title: req.t('auth:signIn'), form: { email }, errors, formError, next: safeNext(body.next) ?? '' }, status);
    const verdict = await counts.start({
      address: ipKeyGenerator(req.ip ?? ''), email, perAddress: deps.config.loginRateLimitPerAddress, perEmail: deps.config.loginRateLimit,
    });
    if (verdict.limited) {
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      return again(429, {}, limited[verdict.limited]);
    }
    if (!email || !password) {
      return again(422, { ...(email ? {} : { email: 'auth:error.enterEmail' }), ...(password ? {} : { password: 'auth:error.enterPassword' }) });
    }
    passport.authenticate('local', (err: unknown, user: { id: string } | false) => {
      if (err) return next(err);
      if (!user) return void again(401, {}, 'auth:error.wrongCredentials');
      counts.forgive(verdict.attempt).then(() => {
        // A fresh session id on login (passport regenerates it), then go where the user was heading.
        req.login(user as unknown as Express.User, (loginErr) => {
          if (loginErr) return next(loginErr);
          res.redirect(safeNext(body.next) ?? '/');
        });
      }, next);
    })(req, res, next);
  });

  r.post('/logout', (req, res, next) => {
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy(() => res.redirect('/login'));
    });
  });

  r.post('/switch', requireUser(), (req, res) => {
    const id = String((req.body as { membershipId?: string }).membershipId ?? '');
    // Only one of the user's own memberships can be chosen; anything else is ignored.
    if (req.user!.memberships.some((m) => m.id === id)) req.session.membershipId = id;
    req.session.save(() => res.redirect('/'));
  });

  const invitationLocals = async (req: Request, res: Response) => {
    const { invitation, userExists } = await findInvitation(deps, String(req.params.token));
    // A client's invitation is its agency's page.
    if (invitation.scope === 'sub_account' && invitation.agencyId) useBrand(res, (await agencyBrand(deps.db, invitation.agencyId)) ?? PLATFORM_BRAND);
    return { title: req.t('auth:invitation.title'), invitation: { email: invitation.email, role: invitation.role }, userExists, token: req.params.token };
  };
  r.get('/invitations/:token', async (req, res) => {
    await page(res, 'invitation', await invitationLocals(req, res));
  });
  r.post(
    '/invitations/:token',
    formAction({
      view: 'invitation',
      locals: invitationLocals,
      action: async (req, res) => {
        await acceptInvitation(deps, { token: String(req.params.token), input: req.body });
        flash(req, 'auth:flash.invitationAccepted');
        res.redirect('/login');
      },
    }),
  );

  return r;
}

