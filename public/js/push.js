// The profile's "push on this device" buttons: registers the service worker, asks the browser's
// push service for a subscription signed for our VAPID public key, and gives it to the server
// (or takes it back). A separate file because the CSP allows no inline script.
document.addEventListener('DOMContentLoaded', async () => {
  const box = document.querySelector('[data-push]');
  if (!box) return;
  const on = box.querySelector('[data-push-on]');
  const off = box.querySelector('[data-push-off]');
  const status = box.querySelector('[data-push-status]');
  const say = (text) => { status.textContent = text || ''; };
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    say(box.dataset.msgUnsupported);
    return;
  }
  const keyBytes = (b64) => {
    const s = atob((b64 + '='.repeat((4 - (b64.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  };
  const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const post = async (url, fields) => {
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ _csrf: box.dataset.csrf, ...fields }),
    });
    const body = await res.json().catch(() => ({}));
    say(body.message);
    return res.ok;
  };
  const registration = await navigator.serviceWorker.register('/sw.js');
  const show = (sub) => { on.hidden = Boolean(sub); off.hidden = !sub; };
  show(await registration.pushManager.getSubscription());

  on.addEventListener('click', async () => {
    if ((await Notification.requestPermission()) !== 'granted') return say(box.dataset.msgDenied);
    const sub = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key) });
    if (await post('/profile/push/subscribe', { endpoint: sub.endpoint, p256dh: b64url(sub.getKey('p256dh')), auth: b64url(sub.getKey('auth')) })) show(sub);
  });
  off.addEventListener('click', async () => {
    const sub = await registration.pushManager.getSubscription();
    if (!sub) return show(null);
    await post('/profile/push/unsubscribe', { endpoint: sub.endpoint });
    await sub.unsubscribe();
    show(null);
  });
});
