/* The catalog page (/admin/catalog): a ward's counters, opening hours and closed days
   (its admin, or a city-wide admin choosing the ward), and for a city-wide admin the
   services (targets; added in catalog_edit.js, removed here — refused while in use, the
   reason next to the button) and the procedures' fees — through /api/v1/admin/catalog. The server
   validates each change like the catalog files (its reason is shown here), stores it as a
   new catalog version (listed at the bottom: who, when, what) and every server process
   serves it without a restart. Every change names the version it was made on: a change
   someone else saved meanwhile is refused instead of overwritten. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const API = cfg.api + "/admin/catalog";
  const T = L.T;
  const DAYS = [T("月曜"), T("火曜"), T("水曜"), T("木曜"), T("金曜"), T("土曜"), T("日曜")];
  let current = null;   // GET /admin/catalog: {version, catalog, calendar}
  let ward = null;
  const editors = [];   // catalog_edit.js: the city-wide editors, drawn after each load

  function message(id, text) { document.getElementById(id).textContent = text; }

  function act(method, path, body) {
    message("cat-error", "");
    message("cat-saved", "");
    return L.api(method, path, body).then(function (answer) {
      if (answer && answer.version !== undefined) {
        message("cat-saved", answer.changes && answer.changes.length
          ? T("版 {version} を保存しました", { version: answer.version }) : T("変更はありません"));
      }
      return load().then(function () { return answer; });
    }, function (e) {
      message("cat-error", T("できませんでした: {reason}", { reason: e.message }));
      throw e;
    });
  }

  function change(method, path, body) {  // a catalog edit, on the version shown
    const sep = path.indexOf("?") < 0 ? "?" : "&";
    if (method === "DELETE") return act(method, API + path + sep + "base_version=" + current.version);
    return act(method, API + path, Object.assign({ base_version: current.version }, body));
  }

  function quiet(p) { p.catch(function () { /* shown in #cat-error */ }); }

  function button(label, action, danger) {
    return el("button", { class: danger ? "btn danger" : "btn secondary", type: "button", text: label,
                          onclick: function () { quiet(action()); } });
  }

  /* A removal after a yes; its refusal ("still in use: …") next to the button. */
  function removeButton(label, question, path) {
    const why = el("span", { class: "field-error error-msg", role: "alert" });
    const go = button(label, function () {
      why.textContent = "";
      if (!window.confirm(question)) return Promise.resolve();
      return change("DELETE", path).catch(function (e) { why.textContent = e.message; throw e; });
    }, true);
    return el("span", { class: "cat-remove" }, [go, why]);
  }

  function checkboxes(box, options, chosen, name) {
    box.querySelectorAll("label").forEach(function (l) { l.remove(); });
    options.forEach(function (o) {
      box.appendChild(el("label", {}, [
        el("input", { type: "checkbox", value: String(o.value), name: name, checked: chosen.indexOf(o.value) >= 0 ? "checked" : null }),
        document.createTextNode(" " + o.label)]));
    });
  }

  function checked(box) {
    return Array.prototype.map.call(box.querySelectorAll("input:checked"), function (i) { return i.value; });
  }

  function wardData() {
    return current.catalog.wards.find(function (w) { return w.code === ward; });
  }

  function serviceOptions(w) {
    const names = {};
    current.catalog.services.forEach(function (s) { names[s.code] = T(s.name); });
    return w.services.map(function (code) { return { value: code, label: names[code] || code }; });
  }

  function counterRow(w, c) {
    const name = el("input", { value: c.name, maxlength: "40", "aria-label": T("名称") });
    const box = el("span", { class: "cat-services" });
    checkboxes(box, serviceOptions(w), c.services || [], "s" + c.number);
    const base = "/wards/" + w.code + "/counters/" + c.number;
    return el("tr", { "data-counter": String(c.number) }, [
      el("th", { scope: "row", text: String(c.number) }), el("td", {}, [name]), el("td", {}, [box]),
      el("td", {}, [
        button(T("保存"), function () { return change("PUT", base, { name: name.value, services: checked(box) }); }),
        button(T("窓口を開く"), function () {
          return act("POST", cfg.api + base + "/open").then(function () { message("cat-saved", T("窓口 {number} を開きました", { number: c.number })); });
        }),
        button(T("窓口を閉じる"), function () {
          return act("POST", cfg.api + base + "/close").then(function () { message("cat-saved", T("窓口 {number} を閉じました", { number: c.number })); });
        }),
        button(T("削除"), function () { return change("DELETE", base); }, true)
      ])
    ]);
  }

  function fill(id, rows) {
    const body = document.querySelector("#" + id + " tbody");
    body.textContent = "";
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function number(value, step) {
    return el("input", { type: "number", min: "0", step: step || "1", value: value === undefined ? "" : String(value) });
  }

  function render() {
    const w = wardData();
    message("cat-version", T("版") + " " + current.version);
    fill("counter-table", (w.counters || []).map(function (c) { return counterRow(w, c); }));
    checkboxes(document.getElementById("counter-services"), serviceOptions(w), [], "new");
    checkboxes(document.getElementById("offered-services"), current.catalog.services.map(function (s) {
      return { value: s.code, label: T(s.name) };
    }), w.services || [], "offered");
    document.getElementById("hours-opens").value = w.opens || "08:45";
    document.getElementById("hours-closes").value = w.closes || "17:15";
    checkboxes(document.getElementById("hours-weekdays"),
               DAYS.map(function (label, i) { return { value: i, label: label }; }),
               w.weekdays || [0, 1, 2, 3, 4], "weekday");
    const cal = current.calendar || {};
    document.getElementById("days-closed").value = ((cal.closed || {})[ward] || []).join("\n");
    document.getElementById("days-open").value = ((cal.open || {})[ward] || []).join("\n");
    if (cfg.ward) return;   // services, procedures and life events: a city-wide admin's
    editors.forEach(function (draw) { draw(current); });
    fill("service-table", current.catalog.services.map(function (s) {
      const target = number(s.target_wait_minutes);
      const minutes = number(s.default_service_minutes, "0.5");
      return el("tr", { "data-service": s.code }, [el("th", { scope: "row", text: T(s.name) }),
        el("td", {}, [target]), el("td", {}, [minutes]),
        el("td", {}, [button(T("保存"), function () {
          return change("PATCH", "/services/" + s.code, { target_wait_minutes: Number(target.value),
                                                          default_service_minutes: Number(minutes.value) });
        }), removeButton(T("削除"), T("業務「{name}」を削除しますか?", { name: T(s.name) }), "/services/" + s.code)])]);
    }));
    fill("procedure-table", current.catalog.procedures.map(function (p) {
      const fee = number(p.fee_yen || 0);
      const perCopy = el("input", { type: "checkbox", checked: p.fee_per_copy ? "checked" : null, "aria-label": T("通数ごと") });
      return el("tr", { "data-procedure": p.code }, [el("th", { scope: "row", text: T(p.name) }),
        el("td", {}, [fee]), el("td", {}, [perCopy]),
        el("td", {}, [button(T("保存"), function () {
          return change("PATCH", "/procedures/" + p.code, { fee_yen: fee.value === "" ? null : Number(fee.value),
                                                            fee_per_copy: perCopy.checked });
        })])]);
    }));
  }

  function rollbackButton(version) {  // a new version "rolled back to N", after a yes
    return button(T("この版に戻す"), function () {
      const question = cfg.ward ? T("この区の窓口・受付時間・休庁日を版 {version} の内容に戻しますか?", { version: version })
        : T("カタログ全体を版 {version} の内容に戻しますか?", { version: version });
      if (!window.confirm(question)) return Promise.resolve();
      return act("POST", API + "/versions/" + version + "/rollback", { base_version: current.version });
    }, true);
  }

  function load() {
    return Promise.all([L.api("GET", API), L.api("GET", API + "/versions?limit=30")]).then(function (all) {
      current = all[0];
      const select = document.getElementById("cat-ward");
      if (!select.options.length) {
        current.catalog.wards.forEach(function (w) { select.appendChild(el("option", { value: w.code, text: T(w.name) })); });
      }
      ward = ward || select.value;
      render();
      fill("version-table", all[1].map(function (v) {
        return el("tr", {}, [el("td", { text: String(v.version) }), el("td", { text: v.at || "—" }),
          el("td", { text: v.actor || T("コマンドライン") }), el("td", { text: v.ward || T("全区") }),
          el("td", {}, v.changes.map(function (line) { return el("div", { text: line }); })),
          el("td", {}, v.version < current.version ? [rollbackButton(v.version)] : [])]);
      }));
      document.body.dataset.rendered = String(Date.now());
    }, function (e) { message("cat-error", T("できませんでした: {reason}", { reason: e.message })); });
  }

  if (cfg.ward) {
    document.body.classList.add("ward-admin");
    document.getElementById("city-note").hidden = false;
  }
  document.getElementById("cat-ward").addEventListener("change", function (ev) { ward = ev.target.value; render(); });
  document.getElementById("counter-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const n = document.getElementById("counter-number").value;
    quiet(change("PUT", "/wards/" + ward + "/counters/" + n, {
      name: document.getElementById("counter-name").value,
      services: checked(document.getElementById("counter-services")) }).then(function () { ev.target.reset(); }));
  });
  document.getElementById("offered-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    quiet(change("PUT", "/wards/" + ward + "/services", { services: checked(document.getElementById("offered-services")) }));
  });
  document.getElementById("hours-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    quiet(change("PUT", "/wards/" + ward + "/hours", {
      opens: document.getElementById("hours-opens").value, closes: document.getElementById("hours-closes").value,
      weekdays: checked(document.getElementById("hours-weekdays")).map(Number) }));
  });
  document.getElementById("days-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    function lines(id) { return document.getElementById(id).value.split(/\s+/).filter(Boolean); }
    quiet(change("PUT", "/wards/" + ward + "/days", { closed: lines("days-closed"), open: lines("days-open") }));
  });
  window.CatalogPage = {   // for catalog_edit.js
    change: change, quiet: quiet, button: button, removeButton: removeButton, fill: fill, message: message,
    addEditor: function (draw) { editors.push(draw); if (current && !cfg.ward) draw(current); }
  };
  load();
})();
