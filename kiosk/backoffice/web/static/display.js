/* Lobby display: numbers being called now (with their counter), the last few calls, and
   an announcement for each new call. Numbers only — the queue view and the events carry
   no personal data, and nothing else is ever fetched.

   Authentication: a display device token given once in the URL fragment
   (/display?ward=kita#token=dv_...) is kept in localStorage and removed from the address
   bar; without one, the staff login cookie is used. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const API = cfg.api;
  const storeKey = "display.token." + cfg.ward;
  const FRESH_MS = 15000;       // a new call is highlighted this long
  const ANNOUNCE_MAX_AGE = 60;  // seconds: older calls (replayed after an outage) stay silent

  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (hash.get("token")) {
    try { localStorage.setItem(storeKey, hash.get("token")); } catch (e) { /* private mode: keep in memory */ }
    L.setBearer(hash.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    let saved = null;
    try { saved = localStorage.getItem(storeKey); } catch (e) { saved = null; }
    if (saved) L.setBearer(saved);
  }

  const fresh = {};  // "A-012@3" -> time it was (re)called here
  let view = null;
  // Calls already announced ("A-012@3#0": number, counter, recall count). The first
  // render only learns what is on screen; later renders and events announce what is new —
  // so a call made while the display was reconnecting is still announced, once.
  const announced = {};
  let primed = false;

  function announceOnce(number, counter, recalls, ageSeconds) {
    const key = number + "@" + counter + "#" + (recalls || 0);
    if (announced[key]) return;
    announced[key] = true;
    if (!primed || ageSeconds > ANNOUNCE_MAX_AGE) return;  // old news stays silent
    fresh[number + "@" + counter] = Date.now();
    setTimeout(function () { if (view) render(view); }, FRESH_MS + 100);
    const m = /^([A-Za-z]+)-?0*(\d+)$/.exec(number || "");
    if (m) window.Announcer.announce({ label: number, prefix: m[1], number: parseInt(m[2], 10), counter: counter });
  }

  function wanted(service, counter) {
    if (cfg.services.length && cfg.services.indexOf(service) < 0) return false;
    if (cfg.counters.length && cfg.counters.indexOf(counter) < 0) return false;
    return true;
  }

  // "3 番窓口" large, then the same in the other display languages, smaller, below.
  function counterSpans(n) {
    return el("span", { class: "ctr" }, cfg.counter_formats.map(function (f, i) {
      return el("span", { class: i ? "ctr-more" : "ctr-first", text: f.replace("{counter}", n) });
    }));
  }

  function render(v) {
    view = v;
    const now = Date.now();
    const calling = (v.counters || []).filter(function (c) {
      return c.current && c.current.status === "called" && wanted(c.current.service, c.number);
    }).sort(function (a, b) { return Date.parse(b.current.called_at || 0) - Date.parse(a.current.called_at || 0); })
      .slice(0, cfg.now);
    calling.forEach(function (c) {
      const age = c.current.called_at ? (now - Date.parse(c.current.called_at)) / 1000 : 0;
      announceOnce(c.current.number, c.number, c.current.recall_count, age);
    });
    primed = true;
    const list = document.getElementById("now-calling");
    list.textContent = "";
    const shown = {};
    calling.forEach(function (c) {
      const key = c.current.number + "@" + c.number;
      shown[key] = true;
      const isFresh = fresh[key] && now - fresh[key] < FRESH_MS;
      list.appendChild(el("li", { class: isFresh ? "fresh" : null, "data-number": c.current.number, "data-counter": String(c.number) }, [
        el("span", { class: "num", text: c.current.number }),
        counterSpans(c.number)
      ]));
    });
    document.getElementById("now-empty").hidden = calling.length > 0;
    const recent = document.getElementById("recent");
    recent.textContent = "";
    (v.recent_calls || []).filter(function (r) { return wanted(r.service, r.counter) && !shown[r.number + "@" + r.counter]; })
      .slice(0, cfg.recent).forEach(function (r) {
        recent.appendChild(el("li", { "data-number": r.number }, [
          el("span", { class: "rnum", text: r.number }), counterSpans(r.counter)
        ]));
      });
    renderWaits(v);
    document.body.dataset.rendered = String(now);
  }

  function fill(formats, values) {
    return formats.map(function (f) {
      return f.replace("{n}", values.n).replace("{minutes}", values.minutes);
    }).join(" / ");
  }

  function renderWaits(v) {
    const list = document.getElementById("waits");
    list.textContent = "";
    (v.services || []).filter(function (s) { return cfg.service_names[s.code]; }).forEach(function (s) {
      const minutes = Math.ceil((s.estimated_wait_seconds || 0) / 60);
      const text = s.waiting_count && minutes ?
        fill(cfg.wait_formats, { n: s.waiting_count, minutes: minutes }) :
        fill(cfg.count_formats, { n: s.waiting_count, minutes: 0 });
      list.appendChild(el("li", { "data-service": s.code }, [
        el("span", { class: "wprefix", text: s.prefix }),
        el("span", { class: "wname", text: cfg.service_names[s.code] }),
        el("span", { class: "wcount", text: text })
      ]));
    });
  }

  function refresh() {
    return L.api("GET", API + "/wards/" + encodeURIComponent(cfg.ward) + "/queue").then(render);
  }

  function onEvent(type, data) {
    if (type === "snapshot" && data && data.counters) { render(data); return true; }
    if ((type === "ticket.called" || type === "ticket.recalled") && data && data.ticket) {
      const t = data.ticket;
      const counter = t.counter || data.counter;
      if (wanted(t.service || data.service, counter)) {
        announceOnce(t.number, counter, t.recall_count, data.at ? (Date.now() - Date.parse(data.at)) / 1000 : 0);
      }
    }
    return false;
  }

  function tick() {
    const d = new Date();
    document.getElementById("clock").textContent =
      String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }
  tick();
  setInterval(tick, 10000);

  // Alive: a display with its own device token says so (the supervisor's device page);
  // one opened with a staff login is no device and sends nothing.
  function alive() {
    if (L.hasBearer()) L.api("POST", API + "/device/heartbeat", { status: "ok", version: "display-web" })
      .catch(function () { /* the stream's banner already says the server is away */ });
  }
  alive();
  setInterval(alive, cfg.heartbeat_ms || 30000);

  let refused = false;
  L.connect({
    url: API + "/events?ward=" + encodeURIComponent(cfg.ward),
    refresh: refresh,
    onEvent: onEvent,
    // A revoked or wrong device token will not heal by retrying: say what to do.
    onAuthLost: function () { refused = true; },
    lostText: function () { return refused ? cfg.refused : cfg.lost; },
    safetyMs: 20000
  });
})();
