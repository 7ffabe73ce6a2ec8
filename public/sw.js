// The service worker of Kontor's pages: it shows the notices that arrive by Web Push (the server
// encrypts them for this browser; the push service only relays them) and opens the page a notice
// leads to when it is tapped.
self.addEventListener('push', (event) => {
  let notice;
  try {
    notice = event.data ? event.data.json() : {};
  } catch {
    notice = { body: event.data ? event.data.text() : '' };
  }
  const title = notice.title || self.registration.scope;
  event.waitUntil(self.registration.showNotification(title, {
    body: notice.body || '',
    // One notice, one notification: a message delivered twice replaces itself.
    tag: notice.tag || undefined,
    data: { url: notice.url || '/notifications' },
    icon: '/assets/favicon.svg',
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || '/notifications', self.location.origin).href;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const c of open) if (c.url === url && 'focus' in c) return c.focus();
    return self.clients.openWindow(url);
  })());
});
