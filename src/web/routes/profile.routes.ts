import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { emailChanges, notificationCategories, notificationChannels, users } from '../../../db/schema';
import type { Deps } from '../../deps';
import { listInbox, markAllRead, markRead, unreadCount } from '../../notifications/inbox';
import { getPreferences, savePreferences } from '../../notifications/preferences';
import { pushDeviceCount, removePushSubscription, savePushSubscription } from '../../notifications/push';
import { noticeBody, noticeTitle } from '../../notifications/texts';
import { setOwnPresence } from '../../users/presence';
import { confirmEmailChange, EMAIL_CHANGE_HOURS, findEmailChange, notifyPasswordChanged, requestEmailChange, updateProfile } from '../../users/profile.usecases';
import { changePassword } from '../../users/users.usecases';
import { requireUser } from '../middleware';
import { flash, formAction, page } from '../render';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The push service worker, served from the root so that its scope is the whole site (a phone opens notices there). */
export function serviceWorker(_req: Request, res: Response): void {
  res.set('Cache-Control', 'no-cache');
  res.type('application/javascript').sendFile(path.join(root, 'public', 'sw.js'));
}

/** Every signed-in page's bell: the unread count, read once per page. */
export function noticeLocals(deps: Deps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals.unreadNotices = req.user && req.method === 'GET' ? await unreadCount(deps.db, req.user.user.id) : 0;
    next();
  };
}

/**
 * The signed-in person's own pages, the same at every level: the profile (status, name and
 * language, email, password, notification choices, push on this device) and the notification centre.
 */
export function profileRoutes(deps: Deps): Router {
  const r = Router();
  const pushAvailable = deps.config.vapid !== null;

  const profileLocals = async (req: Request) => {
    const userId = req.user!.user.id;
    const [me] = await deps.db.select({ presence: users.presence, email: users.email }).from(users).where(eq(users.id, userId));
    const [pending] = await deps.db.select({ newEmail: emailChanges.newEmail }).from(emailChanges)
      .where(and(eq(emailChanges.userId, userId), isNull(emailChanges.usedAt), gt(emailChanges.expiresAt, deps.clock.now())));
    return {
      title: req.t('profile:title'),
      presence: me?.presence ?? 'offline',
      pendingEmail: pending?.newEmail ?? null,
      emailChangeHours: EMAIL_CHANGE_HOURS,
      preferences: await getPreferences(deps, userId),
      categories: notificationCategories,
      channels: notificationChannels.filter((c) => c !== 'push' || pushAvailable),
      pushAvailable,
      vapidPublicKey: deps.config.vapid?.publicKey ?? null,
      pushDevices: pushAvailable ? await pushDeviceCount(deps.db, userId) : 0,
    };
  };
  const form = (action: (req: Request, res: Response) => Promise<void>) =>
    [requireUser(), formAction({ view: 'profile', locals: profileLocals, action })] as const;

  r.get('/profile', requireUser(), async (req, res) => {
    await page(res, 'profile', await profileLocals(req));
  });
  r.post('/profile', ...form(async (req, res) => {
    await updateProfile(deps, { userId: req.user!.user.id, input: req.body });
    flash(req, 'profile:flash.saved');
    res.redirect('/profile');
  }));
  r.post('/profile/status', ...form(async (req, res) => {
    const status = await setOwnPresence(deps, { userId: req.user!.user.id, input: req.body });
    flash(req, req.t('profile:flash.status', { status: req.t(`profile:status.${status}`) }));
    res.redirect('/profile');
  }));
  r.post('/profile/email', ...form(async (req, res) => {
    const { newEmail } = await requestEmailChange(deps, { userId: req.user!.user.id, input: req.body });
    flash(req, req.t('profile:flash.emailSent', { email: newEmail }));
    res.redirect('/profile');
  }));
  r.post('/profile/password', ...form(async (req, res) => {
    await changePassword(deps, { userId: req.user!.user.id, keepSessionId: req.sessionID, input: req.body });
    await notifyPasswordChanged(deps, req.user!.user.id);
    flash(req, 'profile:flash.password');
    res.redirect('/profile');
  }));
  r.post('/profile/notifications', ...form(async (req, res) => {
    await savePreferences(deps, { userId: req.user!.user.id, input: req.body, pushAvailable });
    flash(req, 'profile:flash.preferences');
    res.redirect('/profile#notifications');
  }));

  // The link from the email: a page with a button, so a mail scanner that opens links changes nothing.
  r.get('/profile/email/:token', async (req, res) => {
    const change = await findEmailChange(deps, String(req.params.token));
    const [user] = await deps.db.select({ email: users.email }).from(users).where(eq(users.id, change.userId));
    await page(res, 'email-change', { title: req.t('profile:email.confirmTitle'), from: user?.email ?? '', to: change.newEmail, token: String(req.params.token) });
  });
  r.post('/profile/email/:token', async (req, res) => {
    const { email } = await confirmEmailChange(deps, String(req.params.token));
    flash(req, req.t('profile:flash.emailChanged', { email }));
    res.redirect(req.user ? '/profile' : '/login');
  });

  // Push subscriptions: the profile page's script posts what the browser's push service gave.
  r.post('/profile/push/subscribe', requireUser(), async (req, res) => {
    if (!pushAvailable) return res.status(404).json({ error: 'not_found' });
    await savePushSubscription(deps, { userId: req.user!.user.id, input: req.body, userAgent: req.get('user-agent') ?? null });
    res.status(201).json({ ok: true, message: req.t('notifications:push.subscribed') });
  });
  r.post('/profile/push/unsubscribe', requireUser(), async (req, res) => {
    await removePushSubscription(deps.db, { userId: req.user!.user.id, endpoint: String((req.body as { endpoint?: unknown }).endpoint ?? '') });
    res.json({ ok: true, message: req.t('notifications:push.unsubscribed') });
  });

  // The notification centre.
  r.get('/notifications', requireUser(), async (req, res) => {
    const before = typeof req.query.before === 'string' && !Number.isNaN(Date.parse(req.query.before)) ? new Date(req.query.before) : undefined;
    const items = await listInbox(deps, { userId: req.user!.user.id, limit: 50, ...(before ? { before } : {}) });
    const notices = items.map((n) => ({ ...n, title: noticeTitle(req.t, n.kind), body: noticeBody(req.t, req.fmt, n) }));
    await page(res, 'notifications', { title: req.t('notifications:title'), notices, more: items.length === 50 ? items[items.length - 1]!.createdAt.toISOString() : null });
  });
  r.post('/notifications/read-all', requireUser(), async (req, res) => {
    const n = await markAllRead(deps, req.user!.user.id);
    flash(req, req.t('notifications:flash.allRead', { count: n }));
    res.redirect('/notifications');
  });
  r.post('/notifications/:id/read', requireUser(), async (req, res) => {
    await markRead(deps, { userId: req.user!.user.id, notificationId: String(req.params.id) });
    flash(req, 'notifications:flash.read');
    res.redirect('/notifications');
  });
  return r;
}
