/* Floor view: the ward's open "ask staff" requests, live. A new one chimes (the lobby
   display's chime) and is marked; "take" records who goes to the kiosk. The stream
   (GET …/floor/stream) only says "changed": the page re-reads the list each time.
   window.Floor.log records chimes for tests and maintainers. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const T = L.T;
  const base = cfg.api + "/wards/" + encodeURIComponent(cfg.ward) + "/floor";
  const known = new Set();
  let first = true;
  const log = [];
  let chime = null;

  function clock(iso) {
    return iso ? iso.slice(11, 16) : "—";
  }

  function ring() {
    if (!chime) chime = new Audio(document.body.dataset.chime);
    chime.currentTime = 0;
    const p = chime.play();
    log.push({ kind: "chime" });
    if (p && p.catch) {
      p.catch(function () { document.getElementById("sound-hint").hidden = false; });
    }
  }

  function take(id) {
    L.api("POST", base + "/requests/" + id + "/take").then(refresh, function (e) {
      document.getElementById("floor-error").textContent = T("対応できません: {reason}", { reason: e.message });
      refresh();
    });
  }

  function render(v) {
    const body = document.querySelector("#open-table tbody");
    body.textContent = "";
    let fresh = false;
    v.open.forEach(function (r) {
      const isNew = !known.has(r.id);
      if (isNew) { known.add(r.id); fresh = fresh || !first; }
      body.appendChild(el("tr", { "data-request": String(r.id), class: isNew && !first ? "new" : null }, [
        el("th", { scope: "row", text: r.kiosk }),
        el("td", { text: r.place || "—" }),
        el("td", { text: clock(r.created_at) }),
        el("td", { text: L.minutesText(L.minutesSince(r.created_at) * 60) }),
        el("td", {}, [el("button", { class: "btn primary take", type: "button", text: T("対応する"),
                                     onclick: function () { take(r.id); } })])
      ]));
    });
    document.getElementById("floor-none").hidden = v.open.length > 0;
    const done = document.querySelector("#taken-table tbody");
    done.textContent = "";
    v.taken.forEach(function (r) {
      done.appendChild(el("tr", { "data-request": String(r.id) }, [
        el("th", { scope: "row", text: r.kiosk }),
        el("td", { text: r.place || "—" }),
        el("td", { text: clock(r.created_at) }),
        el("td", { class: "taken-by", text: T("{name}({time})", { name: r.taken_by, time: clock(r.taken_at) }) })
      ]));
    });
    if (fresh) ring();
    first = false;
    document.body.dataset.rendered = String(Date.now());
  }

  function refresh() {
    return L.api("GET", base + "/requests").then(render, function (e) {
      document.getElementById("floor-error").textContent = T("読み込めません: {reason}", { reason: e.message });
      throw e;
    });
  }

  L.connect({ url: base + "/stream", refresh: refresh, eventTypes: ["floor.changed"] });
  window.Floor = { log: log };
})();
