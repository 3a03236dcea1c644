/* Interview mode on the counter console (issue #17): for a resident who did not use the
   kiosk, the clerk asks the life event's questions one at a time, edits the derived list,
   types the forms (fields asked once), issues the routed ticket and prints each form for
   the resident's signature (form.pdf). The server decides everything (/api/v1/interview):
   this only shows its answers. */
(function () {
  "use strict";
  const L = window.Live, el = L.el, T = L.T, API = L.config().api;
  const $ = function (id) { return document.getElementById(id); };
  const iv = { ward: null, event: null, answers: {}, add: [], drop: [], key: null, step: null };

  function say(text, isError) {
    const p = $("iv-msg");
    p.textContent = text;
    p.className = isError ? "error-msg" : "toast";
  }

  function ward() {
    const sel = $("ward-select");
    return (sel && sel.value) || iv.ward;
  }

  function open() {
    $("interview-box").hidden = false;
    $("iv-body").textContent = "";
    say("");
    L.api("GET", API + "/life-events").then(function (events) {
      const sel = $("iv-event");
      sel.textContent = "";
      events.forEach(function (e) { sel.appendChild(el("option", { value: e.code, text: L.name(e.name) })); });
    }, function (e) { say(T("できませんでした: {reason}", { reason: e.message }), true); });
  }

  function start() {
    iv.ward = ward();
    iv.event = $("iv-event").value;
    iv.answers = {}; iv.add = []; iv.drop = [];
    iv.key = "iv-" + Date.now() + "-" + Math.random().toString(36).slice(2);
    next();
  }

  function next() {
    const body = { ward: iv.ward, event: iv.event, answers: iv.answers, add: iv.add, drop: iv.drop };
    return L.api("POST", API + "/interview", body).then(function (step) {
      iv.step = step;
      if (step.question) showQuestion(step.question); else showList(step);
    }, function (e) { say(T("できませんでした: {reason}", { reason: e.message }), true); });
  }

  function showQuestion(q) {
    const box = $("iv-body");
    box.textContent = "";
    box.appendChild(el("p", { class: "iv-question", id: "iv-question", text: L.name(q.text) }));
    const row = el("div", { class: "actions", role: "group" });
    q.options.forEach(function (o) {
      row.appendChild(el("button", { class: "btn secondary", type: "button", "data-answer": o.value,
                                     text: L.name(o.label),
                                     onclick: function () { iv.answers[q.key] = o.value; next(); } }));
    });
    box.appendChild(row);
  }

  function input(f) {
    const id = "iv-f-" + f.key.replace(/[^A-Za-z0-9_-]/g, "_");
    let field;
    if (f.choices && f.choices.length) {
      field = el("select", { id: id, name: f.key });
      f.choices.forEach(function (c) { field.appendChild(el("option", { value: c, text: L.name(c) })); });
      if (f.default) field.value = f.default;
    } else {
      const type = f.kind === "date" ? "date" : (f.kind === "count" || f.kind === "year") ? "number" : "text";
      field = el("input", { id: id, name: f.key, type: type, value: f.default !== null && f.default !== undefined ? String(f.default) : "" });
    }
    return [el("label", { for: id, text: L.name(f.label) + (f.required ? " *" : "") }), field];
  }

  function showList(step) {
    const box = $("iv-body");
    box.textContent = "";
    const list = el("ol", { class: "route-list", id: "iv-procedures" });
    step.procedures.forEach(function (p) {
      list.appendChild(el("li", { "data-code": p.code }, [L.name(p.name) + " ",
        el("button", { class: "btn secondary small", type: "button", text: T("外す"),
                       onclick: function () { iv.drop.push(p.code); next(); } })]));
    });
    box.appendChild(el("h3", { text: T("この窓口での手続き") }));
    box.appendChild(list);
    if (step.available.length) {
      const sel = el("select", { id: "iv-add" });
      step.available.forEach(function (a) { sel.appendChild(el("option", { value: a.code, text: L.name(a.name) })); });
      box.appendChild(el("div", { class: "transfer-row" }, [sel,
        el("button", { class: "btn secondary", type: "button", text: T("追加する"),
                       onclick: function () { iv.add.push(sel.value); next(); } })]));
    }
    const form = el("form", { id: "iv-form", class: "iv-form" });
    step.fields.forEach(function (f) { input(f).forEach(function (n) { form.appendChild(n); }); });
    form.appendChild(el("button", { class: "btn", type: "submit", id: "iv-issue", text: T("発券する") }));
    form.addEventListener("submit", function (ev) { ev.preventDefault(); issue(form); });
    box.appendChild(el("h3", { text: T("申請書の内容(職員が入力)") }));
    box.appendChild(form);
  }

  function issue(form) {
    const values = {};
    Array.prototype.forEach.call(form.elements, function (n) { if (n.name) values[n.name] = n.value; });
    const body = { ward: iv.ward, event: iv.event, answers: iv.answers, add: iv.add, drop: iv.drop,
                   values: values, language: "ja" };
    $("iv-issue").disabled = true;
    fetch(API + "/interview/tickets", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": iv.key },
      body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(L.detailText(data) || ("HTTP " + r.status));
        return data;
      });
    }).then(function (t) {
      const box = $("iv-body");
      box.textContent = "";
      box.appendChild(el("p", { class: "current-number", id: "iv-number", text: t.number }));
      box.appendChild(el("p", { text: T("発券しました。各申請書を印刷して署名をいただいてください。") }));
      const links = el("p", { class: "route-forms", id: "iv-forms" });
      t.forms.forEach(function (f) {
        links.appendChild(el("a", { class: "btn secondary", href: f.url, target: "_blank", rel: "noopener",
                                    text: T("{name} の申請書 PDF", { name: L.name(f.name) }) }));
      });
      box.appendChild(links);
    }, function (e) {
      $("iv-issue").disabled = false;
      say(T("できませんでした: {reason}", { reason: e.message }), true);
    });
  }

  $("interview-open").addEventListener("click", open);
  $("iv-start").addEventListener("click", start);
  $("iv-close").addEventListener("click", function () { $("interview-box").hidden = true; });
})();
