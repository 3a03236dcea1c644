/* Shared by every live page: JSON fetch helper and a live connection that survives outages.

   Live.connect({url, refresh, onEvent, eventTypes}) opens an EventSource. Whenever the
   stream (re)opens, refresh() is called to catch up to the current state — events missed
   while disconnected are never replayed one by one, the page just re-reads the truth.
   While the stream is down a banner says so and the connection is retried with back-off
   (the browser's own EventSource retry stops for good after an HTTP error, so we do it). */
(function () {
  "use strict";

  // Named SSE events of docs/api.md §8 (named events do not reach onmessage).
  const EVENT_TYPES = ["snapshot", "ticket.issued", "ticket.called", "ticket.recalled", "ticket.started",
    "ticket.completed", "ticket.held", "ticket.resumed", "ticket.transferred", "ticket.no_show",
    "ticket.cancelled", "ticket.paid", "counter.opened", "counter.closed", "ward.state",
    "visit.stage_completed", "visit.add", "visit.skip", "visit.reorder", "visit.send_back"];

  // A device (the lobby display) authenticates with a bearer token instead of a cookie.
  let bearer = null;

  function api(method, url, body) {
    const init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (bearer) init.headers.Authorization = "Bearer " + bearer;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (resp) {
      if (resp.status === 204) return null;
      return resp.text().then(function (text) {
        let data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        if (!resp.ok) {
          const err = new Error(detailText(data) || ("HTTP " + resp.status));
          err.status = resp.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  }

  function detailText(data) {
    if (!data) return "";
    const d = data.message !== undefined ? data.message : (data.detail !== undefined ? data.detail : data.error);
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map(function (x) { return x.msg || JSON.stringify(x); }).join("; ");
    if (d && typeof d === "object") return d.message || JSON.stringify(d);
    return "";
  }

  function banner(text) {
    let el = document.getElementById("conn-banner");
    if (!el) {
      el = document.createElement("div");
      el.id = "conn-banner";
      el.className = "conn-banner";
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "assertive");
      el.hidden = true;
      document.body.insertBefore(el, document.body.firstChild);
    }
    if (text) { el.textContent = text; el.hidden = false; } else { el.hidden = true; }
    document.body.dataset.live = text ? "down" : "up";
  }

  /* EventSource cannot send an Authorization header, so with a bearer token the stream is
     read with fetch() and parsed here (same wire format, same callbacks). */
  function FetchSource(url) {
    const self = this;
    const ctrl = new AbortController();
    self.readyState = 0;
    self.listeners = {};
    self.addEventListener = function (t, fn) { (self.listeners[t] = self.listeners[t] || []).push(fn); };
    self.close = function () { self.readyState = 2; ctrl.abort(); };
    function dispatch(type, data, id) {
      const ev = { type: type, data: data, lastEventId: id };
      if (type === "message" && self.onmessage) self.onmessage(ev);
      (self.listeners[type] || []).forEach(function (fn) { fn(ev); });
    }
    function fail() { if (self.readyState !== 2) { self.readyState = 2; if (self.onerror) self.onerror({}); } }
    fetch(url, { headers: { Accept: "text/event-stream", Authorization: "Bearer " + bearer },
                 credentials: "same-origin", cache: "no-store", signal: ctrl.signal })
      .then(function (resp) {
        if (resp.status === 401 || resp.status === 403) self.authStatus = resp.status;
        if (!resp.ok || !resp.body) { fail(); return; }
        self.readyState = 1;
        if (self.onopen) self.onopen({});
        const reader = resp.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        let type = "", data = [], id = "";
        function line(l) {
          if (l === "") {
            if (data.length) dispatch(type || "message", data.join("\n"), id);
            type = ""; data = [];
            return;
          }
          if (l[0] === ":") return;
          const i = l.indexOf(":");
          const field = i < 0 ? l : l.slice(0, i);
          let value = i < 0 ? "" : l.slice(i + 1);
          if (value[0] === " ") value = value.slice(1);
          if (field === "event") type = value;
          else if (field === "data") data.push(value);
          else if (field === "id") id = value;
        }
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) { fail(); return; }
            buf += dec.decode(r.value, { stream: true });
            const parts = buf.split(/\r\n|\r|\n/);
            buf = parts.pop();
            parts.forEach(line);
            return pump();
          });
        }
        return pump();
      })
      .catch(fail);
  }

  function connect(opts) {
    let es = null;
    let delay = 500;
    let timer = null;
    let inflight = false;
    let again = false;
    let stopped = false;
    const defaultLost = "接続が切れました — 再接続しています… / Connection lost — reconnecting…";
    function lost() {
      return (typeof opts.lostText === "function" ? opts.lostText() : opts.lostText) ||
        (document.body.dataset.strings ? T("接続が切れました — 再接続しています…") : defaultLost);
    }

    function refresh() {
      if (inflight) { again = true; return; }
      inflight = true;
      Promise.resolve().then(opts.refresh).then(function () {
        if (es && es.readyState === 1) banner(null);
      }, function (err) {
        if (err && (err.status === 401 || err.status === 403)) {
          if (opts.onAuthLost) opts.onAuthLost(err);
        } else if (err && !err.status && !stopped) {
          // The server is unreachable although the stream never said so (a half-open
          // connection after a network fault): show it and start over.
          banner(lost());
          if (es) es.close();
          if (!timer) { timer = setTimeout(open, delay); delay = Math.min(delay * 2, 8000); }
        }
      }).then(function () {
        inflight = false;
        if (again) { again = false; refresh(); }
      });
    }

    function handle(ev) {
      let data = null;
      try { data = ev.data ? JSON.parse(ev.data) : null; } catch (e) { data = ev.data; }
      // onEvent may return true when the event itself carried the whole state (a snapshot).
      if (!(opts.onEvent && opts.onEvent(ev.type, data) === true)) refresh();
    }

    function open() {
      if (stopped) return;
      timer = null;
      const url = typeof opts.url === "function" ? opts.url() : opts.url;
      es = bearer ? new FetchSource(url) : new EventSource(url, { withCredentials: true });
      es.onopen = function () { delay = 500; banner(null); refresh(); };
      es.onmessage = handle;
      (opts.eventTypes || EVENT_TYPES).forEach(function (t) { es.addEventListener(t, handle); });
      es.onerror = function () {
        if (es.authStatus && opts.onAuthLost) opts.onAuthLost({ status: es.authStatus });
        banner(lost());
        // Close and retry ourselves: covers HTTP errors, which end EventSource for good.
        es.close();
        if (!timer && !stopped) {
          timer = setTimeout(open, delay);
          delay = Math.min(delay * 2, 8000);
        }
      };
    }

    open();
    // A slow safety net: re-read the state now and then even if the stream looks healthy.
    const slow = setInterval(refresh, opts.safetyMs || 30000);
    return {
      refresh: refresh,
      close: function () { stopped = true; clearInterval(slow); if (es) es.close(); if (timer) clearTimeout(timer); },
      state: function () { return es ? es.readyState : 2; }
    };
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = v;
        else if (k === "class") node.className = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function minutesSince(iso, now) {
    if (!iso) return null;
    const t = Date.parse(iso);
    if (isNaN(t)) return null;
    return Math.max(0, Math.floor(((now || Date.now()) - t) / 60000));
  }

  /* A supervisor page's ward choice: a ward's account sees its own ward, a city-wide one
     every ward (?ward= picks one); watch(code) at the start and on every change. */
  function wardSelect(sel, cfg, watch) {
    api("GET", cfg.api + "/wards").then(function (wards) {
      wards.filter(function (w) { return !cfg.ward || w.code === cfg.ward; }).forEach(function (w) {
        sel.appendChild(el("option", { value: w.code, text: T(w.name) }));
      });
      const wanted = new URLSearchParams(location.search).get("ward");
      if (wanted) sel.value = wanted;
      if (sel.value) watch(sel.value);
    });
    sel.addEventListener("change", function () { watch(sel.value); });
  }

  function setBearer(token) { bearer = token || null; }
  function authHeaders() { return bearer ? { Authorization: "Bearer " + bearer } : {}; }
  function hasBearer() { return bearer !== null; }

  // The page's settings, rendered by the server into <body data-config="{...}">.
  function config() {
    const cfg = JSON.parse(document.body.dataset.config || "{}");
    cfg.api = cfg.api || "/api/v1";
    return cfg;
  }

  /* The staff pages' words. The server sends the translation of every T(msgid) of
     the page's scripts in <body data-strings> (kiosk/backoffice/web/staff_i18n.py); the
     msgid is the Japanese text and the fallback. Placeholders: T("{n} 人", {n: 3}). */
  let strings = null;
  function T(msgid, values) {
    if (strings === null) {
      try { strings = JSON.parse(document.body.dataset.strings || "{}"); } catch (e) { strings = {}; }
    }
    let text = strings[msgid] || msgid;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }

  // Staff-facing durations: "1 分未満", "12 分".
  function minutesText(seconds) {
    if (typeof seconds !== "number") return "—";
    const m = Math.floor(seconds / 60);
    return m < 1 ? T("1 分未満") : T("{m} 分", { m: m });
  }

  // The language choice in a staff page's header: choosing is enough.
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.id === "lang-select" && ev.target.form) ev.target.form.submit();
  });

  window.Live = { EVENT_TYPES: EVENT_TYPES, config: config, T: T, name: T, minutesText: minutesText, api: api, setBearer: setBearer, authHeaders: authHeaders, hasBearer: hasBearer, wardSelect: wardSelect, connect: connect, banner: banner, el: el, minutesSince: minutesSince, detailText: detailText };
})();
