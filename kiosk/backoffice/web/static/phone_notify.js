/* Phone status page: opt in to notices ("N ahead", "called") by Web Push or e-mail.
   The state comes from /api/v1/status/<token>/notifications; the push subscription is made
   by the browser's PushManager with the office's VAPID key and sent to the same place
   (PUT …/push), an e-mail address likewise (PUT …/email); DELETE stops either. No account:
   the ticket's status token is the key, and the server forgets both when the ticket ends. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.body.dataset.config || "{}");
  const strings = JSON.parse(document.body.dataset.strings || "{}");
  const base = cfg.notify;
  const box = document.getElementById("notify");
  if (!box || !base) return;
  const $ = function (id) { return document.getElementById(id); };
  function say(text) { $("notify-status").textContent = text; }
  function send(method, path, body) {
    return fetch(base + path, {
      method: method, cache: "no-store", headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      if (!r.ok) { const e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
      return r.json();
    });
  }
  function b64ToBytes(s) {
    const raw = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - s.length % 4) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  const pushable = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  let state = null;

  function show(s) {
    state = s;
    box.hidden = !(s.push_available || s.email_available);
    $("push-on").hidden = !(s.push_available && pushable) || s.push;
    $("push-off").hidden = !s.push;
    $("email-form").hidden = !s.email_available || s.email;
    $("email-off").hidden = !s.email;
    box.dataset.push = String(s.push);
    box.dataset.email = String(s.email);
  }
  function load() { return send("GET", "").then(show).catch(function () { box.hidden = true; }); }

  function registration() {
    return navigator.serviceWorker.register("/push-sw.js", { scope: "/status/" }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }
  $("push-on").addEventListener("click", function () {
    say(strings.working);
    Notification.requestPermission().then(function (p) {
      if (p !== "granted") { say(strings.denied); return null; }
      return registration().then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true,
          applicationServerKey: b64ToBytes(state.vapid_public_key) });
      }).then(function (sub) {
        return send("PUT", "/push", Object.assign(sub.toJSON(), { language: cfg.lang }));
      }).then(function () { say(strings.push_done); return load(); });
    }).catch(function () { say(strings.failed); });
  });
  $("push-off").addEventListener("click", function () {
    const stop = pushable ? navigator.serviceWorker.getRegistration("/status/").then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (sub) { return sub ? sub.unsubscribe() : null; }) : Promise.resolve();
    stop.catch(function () { return null; }).then(function () { return send("DELETE", "/push"); })
      .then(function () { say(strings.stopped); return load(); }).catch(function () { say(strings.failed); });
  });
  $("email-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const address = $("email-address").value.trim();
    if (!address) return;
    send("PUT", "/email", { address: address, language: cfg.lang })
      .then(function () { $("email-address").value = ""; say(strings.email_done); return load(); })
      .catch(function (e) { say(e.status === 422 ? strings.bad_email : strings.failed); });
  });
  $("email-off").addEventListener("click", function () {
    send("DELETE", "/email").then(function () { say(strings.stopped); return load(); })
      .catch(function () { say(strings.failed); });
  });
  load();
})();
