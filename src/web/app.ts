import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { csrfSync } from 'csrf-sync';
import type { Deps } from '../deps';
import { authenticate } from '../users/users.usecases';
import { reportRoutes } from './routes/reports.routes';
import { apiRouter } from './api/router';
import { usageHandlers } from './api/credits.routes';
import { openApiDocument } from './api/openapi/serve';
import { apiAuth, errorHandler } from './middleware';
import { guardBodyText, guardUrlText } from './text-guard';
import { httpLogger, requestId } from './request-log';
import { healthRoutes } from './routes/health.routes';
import { accountGate } from './account-gate';
import { AccessCache, principalOf } from './access-cache';
import { DbSessionStore } from './session-store';
import { authRoutes } from './routes/auth.routes';
import { platformRoutes } from './routes/platform.routes';
import { collectionSettingsRoutes } from './routes/collections.routes';
import { agencyRoutes } from './routes/agency.routes';
import { portalRoutes } from './routes/portal.routes';
import { tenantRoutes } from './routes/tenant.routes';
import { agencyCreditRoutes, portalCreditRoutes } from './routes/credits.routes';
import { agencyPackageRoutes, portalPackageRoutes, sandboxRoutes } from './routes/packages.routes';
import { SandboxGateway } from '../payments/sandbox-gateway';
import { PayLinks } from '../payments/checkout-flow';
import { mountSandboxes } from '../../sandboxes/mount';
import { paymentRoutes, webhookRoutes } from './routes/payments.routes';
import { paymentSystemRoutes } from './routes/payment-systems.routes';
import { einvoiceRoutes } from './routes/einvoice.routes';
import { webhookEndpointRoutes } from './routes/webhooks.routes';
import { autoBillingRoutes } from './routes/auto-billing.routes';
import { walletRoutes } from './routes/wallets.routes';
import { sellerPaymentRoutes } from './routes/seller-payments.routes';
import { taxSettingsRoutes } from './routes/tax-settings.routes';
import { buyerPaymentRoutes } from './routes/buyer-payments.routes';
import { subAccountsQualify } from '../auto-billing/settings';
import { agencyStoreRoutes, platformCatalogRoutes } from './routes/catalog.routes';
import { agencyOfferRoutes, platformOfferRoutes } from './routes/offers.routes';
import { dashboardRoutes } from './routes/dashboard.routes';
import { noticeLocals, profileRoutes, serviceWorker } from './routes/profile.routes';
import { page } from './render';
import { languageLocals, languageRoutes } from './language';
import { apiDocsRoutes } from './routes/api-docs.routes';
import { brandLocals, brandStylesheet, webManifest } from './brand';
import { formatTestClock } from '../clock/test-clock.usecases';
import { buyerBillingRoutes, sellerInvoiceRoutes } from './routes/billing.routes';
import { ApiKeyCache } from '../api-keys/key-cache';
import { UsageRecorder } from '../usage/usage-recorder';
import { createRateLimiter, type RateLimiter } from './rate-limit';
import './types';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Per-process state of the web app: the API key cache and the usage group-commit recorder. */
export interface WebContext {
  keyCache: ApiKeyCache;
  recorder: UsageRecorder;
  /** Kontor's own sandbox checkout page: the stand-in for sellers without a payment system (never in production). */
  gateway: SandboxGateway;
  /** Signed links that start a payment at the seller's gateway. */
  payLinks: PayLinks;
  /** Requests per API key and minute, shared through Redis when configured. */
  rateLimiter: RateLimiter;
  /** Sessions' principals and the account gate's answers (src/web/access-cache.ts). */
  access: AccessCache;
}

export function createWebContext(deps: Deps): WebContext {
  const keyCache = new ApiKeyCache(deps.db);
  if (deps.listen) {
    void keyCache.follow(deps.listen).catch((err) => deps.logger.error('API key announcements unavailable: keys are re-read every 5 s', { error: String(err) }));
  }
  const access = new AccessCache();
  if (deps.listen) {
    void access.follow(deps.listen).catch((err) => deps.logger.error('access announcements unavailable: sessions and the account gate are read on every request', { error: String(err) }));
  }
  return {
    keyCache,
    access,
    recorder: new UsageRecorder(deps),
    gateway: new SandboxGateway(deps.config.sessionSecret, deps.config.publicUrl),
    payLinks: new PayLinks(deps.config.sessionSecret, deps.config.publicUrl),
    rateLimiter: createRateLimiter(deps.config, deps.logger, () => deps.clock.now().getTime()),
  };
}

/** Builds the Express app from its dependencies. It never listens: server.ts and tests do. */
export function createApp(deps: Deps, web: WebContext = createWebContext(deps)): Express {
  const app = express();
  app.disable('x-powered-by');
  if (deps.config.trustProxy) app.set('trust proxy', 1);
  app.set('view engine', 'ejs');
  app.set('views', path.join(root, 'views'));

  // The API authenticates with Bearer keys only: no cookies, no sessions, no CSRF, and no HTML,
  // so none of helmet's page headers (measurable on the usage hot path).
  // Ids in the path, the query and every parsed body are checked for text Postgres cannot store
  // (src/web/text-guard.ts) before any route runs.
  // requestId also sets X-Content-Type-Options: nosniff on every answer (src/web/request-log.ts).
  app.use(requestId, guardUrlText);
  const apiJson = [express.json({ limit: '100kb' }), guardBodyText];
  const usage = usageHandlers(deps, web);
  const usageLimit = web.rateLimiter.middleware('usage');
  app.post('/api/v1/usage', apiJson, apiAuth(web.keyCache), usageLimit, usage.single);
  app.post('/api/v1/usage/batch', apiJson, apiAuth(web.keyCache), usageLimit, usage.batch);
  // Everything else has req.log from pino-http (the usage routes above skip its cost).
  app.use(httpLogger(deps));
  // The API's OpenAPI document (src/web/api/openapi): public, no key needed.
  app.get('/api/v1/openapi.json', openApiDocument(deps));
  app.use('/api/v1', apiJson, apiRouter(deps, web));

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          ...(deps.config.isProduction ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      hsts: deps.config.isProduction,
    }),
  );
  app.use('/assets', express.static(path.join(root, 'public'), { maxAge: deps.config.isProduction ? '1d' : 0 }));
  app.use('/assets/vendor/pico', express.static(path.join(root, 'node_modules/@picocss/pico/css'), { maxAge: '7d' }));
  app.use('/assets/vendor/chart.js', express.static(path.join(root, 'node_modules/chart.js/dist'), { maxAge: '7d' }));
  app.use(healthRoutes(deps));
  app.get('/sw.js', serviceWorker);
  app.get('/brand/:hex.css', brandStylesheet);

  // Gateways post back and send webhooks with no Kontor session or CSRF token: verified instead.
  // The offline gateway sandboxes (outside production) are "other sites" too.
  mountSandboxes(app, deps);
  app.use('/payments', paymentRoutes(deps, web));
  app.use('/webhooks', webhookRoutes(deps));

  app.use(express.urlencoded({ extended: false, limit: '100kb' }), guardBodyText);
  app.use(
    session({
      store: new DbSessionStore(deps.db, web.access),
      secret: deps.config.sessionSecret,
      name: 'kontor.sid',
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', secure: deps.config.isProduction, maxAge: 12 * 3600 * 1000 },
    }),
  );

  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy({ usernameField: 'email', passwordField: 'password' }, (email, password, done) => {
      authenticate(deps, email, password).then(
        (user) => done(null, user ? ({ id: user.id } as unknown as Express.User) : false),
        (err) => done(err),
      );
    }),
  );
  // The session keeps only the user id; each request loads the user and its active membership
  // (passport passes req to a three-argument deserializer). A deleted user is signed out.
  auth.serializeUser((user, done) => done(null, (user as unknown as { id: string }).id));
  auth.deserializeUser((req: express.Request, id: string, done: (err: unknown, user?: Express.User | false) => void) => {
    const membershipId = req.session.membershipId;
    principalOf(deps, web.access, id, membershipId).then((p) => done(null, p ?? false), done);
  });
  // A browser follows a redirect as soon as it sees the headers; save the session (flash
  // messages, the signed-in user) first, so the next page never reads a stale one.
  app.use((req, res, next) => {
    const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
    res.redirect = ((...args: unknown[]) => {
      // A form that changed something about its own user or account (language, name, a membership,
      // a suspension lifted by paying): this process re-reads them on the page the browser goes to
      // next, without waiting for the database's announcement (src/web/access-cache.ts).
      const a = req.user?.actor;
      if (a && req.method !== 'GET' && req.method !== 'HEAD') {
        web.access.invalidate(`u:${a.id}`);
        const account = a.subAccountId ?? a.agencyId;
        if (account) web.access.invalidate(`x:${account}`);
      }
      if (req.session) req.session.save(() => redirect(...args));
      else redirect(...args);
    }) as typeof res.redirect;
    next();
  });
  app.use(auth.initialize());
  app.use(auth.session());

  // The CSRF token is an HMAC of the session id instead of a random value stored in the session:
  // browsers follow a redirect before express-session has saved the previous response's session,
  // so a stored token can be minted twice and one tab's forms would then fail. Derived, it is
  // stable for the session's life and changes at login, when passport regenerates the session.
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as Record<string, string> | undefined)?._csrf,
    getTokenFromState: (req) => {
      // Marks a new visitor's session as used, so its cookie (and thus its id) persists.
      if (!req.session.csrf) req.session.csrf = true;
      return createHmac('sha256', deps.config.sessionSecret).update(`csrf:${req.sessionID}`).digest('base64url');
    },
    storeTokenInState: () => {},
  });
  app.use(csrfSynchronisedProtection);
  app.use((req, res, next) => {
    res.locals.csrfToken = generateToken(req);
    res.locals.principal = req.user ?? null;
    res.locals.currentPath = req.path;
    res.locals.testClock = null;
    res.locals.form = {};
    res.locals.errors = {};
    res.locals.flash = req.session.flash ?? null;
    if (req.session.flash) delete req.session.flash;
    next();
  });
  app.use(languageLocals());
  app.use(languageRoutes(deps));
  // The test clock is platform staff's tool: only they see it, in the platform's time zone.
  app.use(async (req, res, next) => {
    if (deps.testClock && req.user?.actor.scope === 'platform' && req.method === 'GET') res.locals.testClock = await formatTestClock(deps.db, deps.clock.now());
    next();
  });
  // Clients see their agency's brand, never the platform's (DESIGN section 11).
  app.use(brandLocals(deps));
  app.get('/manifest.webmanifest', webManifest);
  // The header's bell: the signed-in person's unread notices.
  app.use(noticeLocals(deps));

  // A client sees "Auto-billing" only while its agency offers it (DESIGN section 5).
  app.use(async (req, res, next) => {
    const a = req.user?.actor;
    res.locals.autoBillingOffered = a?.scope === 'sub_account' && a.billing && req.method === 'GET' ? await subAccountsQualify(deps, a.agencyId!) : false;
    next();
  });

  app.use(authRoutes(deps, auth));
  app.use(apiDocsRoutes(deps));
  app.use(profileRoutes(deps));
  // A suspended or over-limit buyer reaches only its billing pages (and profile, logout above).
  app.use('/agency', accountGate(deps, web.access, '/agency', 'agency'));
  app.use('/portal', accountGate(deps, web.access, '/portal', 'sub_account'));
  app.use('/platform', dashboardRoutes(deps, 'platform'));
  app.use('/platform', platformRoutes(deps));
  app.use('/agency', dashboardRoutes(deps, 'agency'));
  app.use('/agency', agencyRoutes(deps, web));
  app.use('/agency', agencyCreditRoutes(deps));
  app.use('/portal', portalCreditRoutes(deps));
  app.use('/agency', agencyPackageRoutes(deps, web));
  app.use('/agency', agencyOfferRoutes(deps));
  app.use('/portal', portalPackageRoutes(deps, web));
  app.use('/sandbox', sandboxRoutes(deps, web));
  app.use('/platform', platformCatalogRoutes(deps));
  app.use('/platform', platformOfferRoutes(deps));
  app.use('/agency', agencyStoreRoutes(deps, web));
  app.use('/agency', reportRoutes(deps, 'agency'));
  app.use('/portal', reportRoutes(deps, 'portal'));
  app.use('/platform', reportRoutes(deps, 'platform'));
  app.use('/platform', paymentSystemRoutes(deps, 'platform'));
  app.use('/platform', collectionSettingsRoutes(deps, 'platform'));
  app.use('/agency', collectionSettingsRoutes(deps, 'agency'));
  app.use('/agency', paymentSystemRoutes(deps, 'agency'));
  app.use('/platform', einvoiceRoutes(deps, 'platform'));
  app.use('/agency', einvoiceRoutes(deps, 'agency'));
  app.use('/platform', webhookEndpointRoutes(deps, 'platform'));
  app.use('/agency', webhookEndpointRoutes(deps, 'agency'));
  app.use('/agency', autoBillingRoutes(deps, 'agency'));
  app.use('/platform', sellerPaymentRoutes(deps, 'platform'));
  app.use('/agency', sellerPaymentRoutes(deps, 'agency'));
  app.use('/platform', taxSettingsRoutes(deps, 'platform'));
  app.use('/agency', taxSettingsRoutes(deps, 'agency'));
  app.use('/portal', autoBillingRoutes(deps, 'sub_account'));
  app.use('/agency', walletRoutes(deps, web, 'agency'));
  app.use('/portal', walletRoutes(deps, web, 'sub_account'));
  app.use('/portal', buyerPaymentRoutes(deps, web, 'sub_account'));
  app.use('/agency', buyerPaymentRoutes(deps, web, 'agency'));
  app.use('/portal', buyerBillingRoutes(deps, '/portal', 'sub_account'));
  app.use('/agency', buyerBillingRoutes(deps, '/agency', 'agency'));
  app.use('/agency', sellerInvoiceRoutes(deps, '/agency', 'agency'));
  app.use('/platform', sellerInvoiceRoutes(deps, '/platform', 'platform'));
  app.use('/portal', portalRoutes(deps));
  for (const [base, scope] of [['/platform', 'platform'], ['/agency', 'agency'], ['/portal', 'sub_account']] as const) {
    app.use(base, tenantRoutes(deps, web, base, scope));
  }

  app.use(async (req, res) => {
    await page(res, 'error', { title: 'Not found', error: { code: 'not_found', message: 'This page does not exist.' }, requestId: String(req.id) }, 404);
  });
  app.use(errorHandler(deps));
  return app;
}
