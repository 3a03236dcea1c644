/* The phone page's service worker (served at /push-sw.js, registered for /status/): shows
   the back-office's Web Push messages — "N ahead" and "called to counter X", already in the
   resident's language (title + body, decrypted by the browser) — and focuses the page when
   one is tapped. Nothing else: no caching, no fetch handler. */
"use strict";
self.addEventListener("push", function (event) {
  let d = {};
  try { d = event.data ? event.data.json() : {}; } catch (e) { d = { body: event.data ? event.data.text() : "" }; }
  event.waitUntil(self.registration.showNotification(d.title || "", {
    body: d.body || "", tag: d.tag || undefined, renotify: Boolean(d.tag),
    requireInteraction: d.kind === "called", vibrate: [300, 150, 300]
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (const c of list) { if (c.url.indexOf("/status/") >= 0 && "focus" in c) return c.focus(); }
    return null;
  }));
});
