/* Phone status page: the server renders the first view; the ticket's own events make the
   page fetch the same view again (already in the resident's language, wording on the
   server). Others moving its place in line arrive as `position` messages (the people
   ahead and the wait, coalesced per queue on the server) that the page words itself with
   the catalog texts it was given — no re-read per call. */
(function () {
  "use strict";
  const L = window.Live;
  const cfg = L.config();
  const strings = JSON.parse(document.body.dataset.strings || "{}");
  let lastStatus = null;

  // Only touch what changed: #called and #state are live regions a screen reader reads out.
  function set(id, text) { const n = document.getElementById(id); if (n && n.textContent !== text) n.textContent = text; }

  function apply(v) {
    set("ticket-number", v.number);
    set("service-name", v.service_name);
    set("people-ahead", v.people_ahead);
    set("estimated-wait", v.estimated_wait);
    set("updated-at", v.updated_at || "");
    set("called", v.called_text);
    document.getElementById("called").hidden = !v.called_text;
    set("state", v.state_text);
    document.getElementById("state").hidden = !v.state_text;
    document.getElementById("facts").hidden = !v.show_facts;
    set("next-text", v.next_text || "");
    document.getElementById("next-text").hidden = !v.next_text;
    // A routed visit: the route and the guide, built and escaped by the server (phone_route.py).
    ["route", "guide"].forEach(function (id) {
      const n = document.getElementById(id);
      const markup = v[id + "_html"] || "";
      if (n && n.dataset.markup !== markup) { n.innerHTML = markup; n.dataset.markup = markup; }
    });
    if (v.status === "called" && lastStatus !== null && lastStatus !== "called" && navigator.vibrate) {
      navigator.vibrate([300, 150, 300]);
    }
    lastStatus = v.status;
    document.body.dataset.status = v.status;
  }

  // wait_text of kiosk/backoffice/web/phone.py, with its texts from the page's strings.
  function fill(template, key, value) { return template.split("{" + key + "}").join(String(value)); }
  function waitText(seconds) {
    if (typeof seconds !== "number" || seconds < 0) return "—";
    return seconds < 60 ? strings.soon : fill(strings.minutes, "minutes", Math.ceil(seconds / 60));
  }

  function moved(p) {
    if (lastStatus !== "waiting" || !p || typeof p.people_ahead !== "number") return false;
    set("people-ahead", fill(strings.ahead, "n", p.people_ahead));
    set("estimated-wait", waitText(p.estimated_wait_seconds));
    set("updated-at", new Date().toTimeString().slice(0, 8));
    document.body.dataset.positions = String(Number(document.body.dataset.positions || 0) + 1);
    return true;
  }

  function refresh() {
    return fetch(cfg.view, { headers: { Accept: "application/json" }, cache: "no-store" }).then(function (r) {
      if (r.status === 404 || r.status === 410) { location.reload(); return null; }  // token gone or ended: the server says so clearly
      if (!r.ok) { const e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
      return r.json().then(apply);
    });
  }

  const sel = document.getElementById("lang-select");
  if (sel) sel.addEventListener("change", function () { sel.form.submit(); });

  L.connect({
    url: cfg.events, refresh: refresh, lostText: strings.lost, safetyMs: 60000,
    eventTypes: L.EVENT_TYPES.concat(["position"]),
    // A position message carries all it changes; anything else: re-read the view.
    onEvent: function (type, data) { return type === "position" && moved(data); }
  });
})();
