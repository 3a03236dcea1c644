/* A routed visit on the counter console (issue #17): the whole route with the current stage
   marked, a PDF link per form of THIS stage, and the route actions — add a stage, skip one,
   move a stage earlier (reorder), send the visit back to an earlier stage. Each action is
   audited by the server (visit.* in the ticket's events). console.js calls
   ConsoleRoute.show(app, ctx) whenever it has (re)read the current ticket's application. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const T = L.T;
  const API = L.config().api;
  const STAGE_WORDS = { waiting: T("待ち"), called: T("呼出中"), serving: T("対応中"), done: T("完了"),
                        skipped: T("省略") };
  const $ = function (id) { return document.getElementById(id); };
  let procedures = null;  // the catalog's procedures, read once: what "add a stage" offers

  function post(ctx, path, body, said) {
    return L.api("POST", API + "/tickets/" + ctx.id + "/route/" + path, body).then(function (t) {
      ctx.toast(said(t.number));
      return ctx.reload();
    }, function (e) { ctx.toast(T("できませんでした: {reason}", { reason: e.message }), true); });
  }

  function button(text, label, onclick) {
    return el("button", { class: "btn secondary small", type: "button", text: text, "aria-label": label,
                          onclick: onclick });
  }

  function stageItem(s, app, ctx, waitingLater) {
    const current = s.seq === app.stage;
    const where = s.counter ? " " + T("{counter} 番窓口", { counter: s.counter }) : "";
    const text = T("{seq}. {service}({procedures})", { seq: s.seq, service: s.service_name,
                                                       procedures: s.procedure_names.join(T("・")) });
    const li = el("li", { class: "route-stage" + (current ? " current" : ""), "data-seq": String(s.seq),
                          "data-status": s.status, "aria-current": current ? "step" : null }, [
      el("span", { class: "route-name", text: text }), " ",
      el("span", { class: "status-pill", text: (STAGE_WORDS[s.status] || s.status) + where })
    ]);
    const later = s.seq > app.stage && s.status === "waiting";
    if (later || (current && waitingLater.length)) {
      li.appendChild(button(T("省略する"), T("段階 {seq} を省略", { seq: s.seq }), function () {
        post(ctx, "skip", { seq: s.seq }, function (n) { return T("{number} の段階を省略しました", { number: n }); });
      }));
    }
    const pos = waitingLater.indexOf(s.seq);
    if (pos > 0) {
      li.appendChild(button(T("先にする"), T("段階 {seq} を先にする", { seq: s.seq }), function () {
        const order = waitingLater.slice();
        order.splice(pos, 1);
        order.splice(pos - 1, 0, s.seq);
        post(ctx, "reorder", { order: order }, function (n) { return T("{number} の順番を変えました", { number: n }); });
      }));
    }
    if (s.seq < app.stage) {
      li.appendChild(button(T("ここへ戻す"), T("段階 {seq} へ戻す", { seq: s.seq }), function () {
        post(ctx, "send-back", { seq: s.seq }, function (n) { return T("{number} を前の段階へ戻しました", { number: n }); });
      }));
    }
    return li;
  }

  function fillProcedures(app) {
    const sel = $("add-procedure");
    const taken = {};
    app.route.forEach(function (s) { s.procedures.forEach(function (p) { taken[p] = true; }); });
    sel.textContent = "";
    (procedures || []).filter(function (p) { return !taken[p.code]; }).forEach(function (p) {
      sel.appendChild(el("option", { value: p.service + "|" + p.code, text: L.name(p.name) }));
    });
    $("add-stage").disabled = !sel.options.length;
  }

  function show(app, ctx) {
    const box = $("route-box");
    if (!app || !app.route) { box.hidden = true; return; }
    box.hidden = false;
    const list = $("route-list");
    list.textContent = "";
    const waitingLater = app.route.filter(function (s) { return s.seq > app.stage && s.status === "waiting"; })
      .map(function (s) { return s.seq; });
    app.route.forEach(function (s) { list.appendChild(stageItem(s, app, ctx, waitingLater)); });
    const forms = $("route-forms");
    forms.textContent = "";
    (app.forms || []).forEach(function (f) {
      forms.appendChild(el("a", { class: "btn secondary", href: f.url, target: "_blank", rel: "noopener",
                                  text: T("{name} の申請書 PDF", { name: f.name }) }));
    });
    $("add-stage").onclick = function () {
      const value = $("add-procedure").value;
      if (!value) return;
      const parts = value.split("|");
      post(ctx, "add", { service: parts[0], procedures: [parts[1]] }, function (n) { return T("{number} に段階を追加しました", { number: n }); });
    };
    if (procedures) { fillProcedures(app); return; }
    L.api("GET", API + "/catalog").then(function (cat) {
      procedures = cat.procedures || [];
      fillProcedures(app);
    }, function () { procedures = []; fillProcedures(app); });
  }

  window.ConsoleRoute = { show: show };
})();
