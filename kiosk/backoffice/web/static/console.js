/* Counter staff console: log in, choose the counter, work the queue.
   Every button has a one-key shortcut (shown on the button, aria-keyshortcuts set) that
   works whenever focus is not in a text field. State comes from the ward's queue view
   (docs/api.md §7) and is refreshed on every live event, so other counters' and kiosks'
   changes appear without reloading. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const API = cfg.api;
  const T = L.T;
  const N = L.name;
  const STATUS_WORDS = { waiting: T("待ち"), called: T("呼出中"), serving: T("対応中"), held: T("保留"),
                         no_show: T("不在"), done: T("完了"), cancelled: T("取消") };
  const PRIORITY_WORDS = { normal: "", priority: T("優先"), appointment: T("予約"), assistance: T("要支援") };
  const ENABLED = {
    call_next: function (cur) { return !cur || (cur.status !== "called" && cur.status !== "serving"); },
    recall: function (cur) { return cur && cur.status === "called"; },
    start: function (cur) { return cur && cur.status === "called"; },
    complete: function (cur) { return cur && cur.status === "serving"; },
    hold: function (cur) { return cur && (cur.status === "called" || cur.status === "serving"); },
    no_show: function (cur) { return cur && cur.status === "called"; },
    transfer: function (cur) { return cur && (cur.status === "called" || cur.status === "serving"); },
    focus_transfer: function (cur) { return cur && (cur.status === "called" || cur.status === "serving"); },
    print: function () { return !!state.form; }
  };
  const ROLE_WORDS = { staff: T("職員"), supervisor: T("監督者"), admin: T("管理者"), central: T("本庁") };
  const KEYS = { n: "call_next", r: "recall", s: "start", c: "complete", h: "hold", x: "no_show", t: "focus_transfer",
                 p: "print" };
  // toast after an action, {number} = the ticket
  const DONE_WORDS = { call_next: T("{number} を呼び出しました"), recall: T("{number} を再呼出しました"),
                       start: T("{number} の対応を始めました"), complete: T("{number} を完了しました"),
                       hold: T("{number} を保留にしました"), no_show: T("{number} を不在にしました"),
                       transfer: T("{number} を転送しました"), call: T("{number} を呼び出しました"),
                       resume: T("{number} を列に戻しました") };
  function done(action, number) { return DONE_WORDS[action].split("{number}").join(number); }

  const state = { me: null, signingIn: false, ward: null, counter: null, view: null, viewAt: 0, currentId: null, form: null, live: null };
  const $ = function (id) { return document.getElementById(id); };

  function show(view) {
    ["login-view", "counter-view", "work-view"].forEach(function (id) { $(id).hidden = id !== view; });
    $("logout").hidden = view === "login-view";
    $("change-counter").hidden = view !== "work-view";
  }

  function whoText() {
    return state.me.username + " (" + (ROLE_WORDS[state.me.role] || state.me.role) + ")";
  }

  function counterName(c) {
    return c.name ? N(c.name) : T("{counter} 番窓口", { counter: c.number });
  }

  function toast(text, isError) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast" + (isError ? " error-msg" : "");
  }

  // ------------------------------------------------------------------ login
  // The form is there at once, before /auth/me answers: on a slow server someone may sign
  // in before that answer comes, and a late "not signed in" must not undo the sign-in.
  function signedInMeanwhile() { return state.me !== null || state.signingIn; }

  function start() {
    L.api("GET", API + "/auth/me").then(function (me) {
      if (!me || me.kind !== "staff") throw new Error("not staff");
      if (signedInMeanwhile()) return;
      state.me = me;
      chooseCounter();
    }, function (e) {
      if (signedInMeanwhile()) return;
      // Signed in, but not counter staff: a central-office account, whose page is /central.
      if (e && e.status === 403 && !new URLSearchParams(location.search).get("next")) {
        location.href = "/central";
        return;
      }
      showLogin();
    }).catch(function () { if (!signedInMeanwhile()) showLogin(); });
  }

  function showLogin() {
    show("login-view");
    $("login-user").focus();
  }

  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const user = $("login-user").value.trim();
    const pass = $("login-pass").value;
    const err = $("login-error");
    err.textContent = "";
    if (!user || !pass) { err.textContent = T("ユーザー名とパスワードを入力してください。"); return; }
    $("login-submit").disabled = true;
    state.signingIn = true;
    L.api("POST", API + "/auth/login", { username: user, password: pass }).then(function (me) {
      $("login-pass").value = "";
      state.me = { kind: "staff", username: me.username, role: me.role, ward: me.ward };
      let next = new URLSearchParams(location.search).get("next");
      // The central office has no counter: its page is the cross-ward view.
      if (me.role === "central" && !next) next = "/central";
      if (next && next.charAt(0) === "/" && next.charAt(1) !== "/") { location.href = next; return; }
      chooseCounter();
    }, function (e) {
      $("login-pass").value = "";
      if (e.status === 401) err.textContent = T("ユーザー名またはパスワードが違います。");
      else if (e.status === 429) err.textContent = T("ログインの失敗が続いたため、しばらくログインできません。時間をおいてもう一度お試しください。");
      else err.textContent = T("ログインできませんでした: {reason}", { reason: e.message });
      $("login-pass").focus();
    }).then(function () { $("login-submit").disabled = false; state.signingIn = false; });
  });

  // Leaving the counter closes it (the server refuses while a ticket is still at it).
  function leaveCounter() {
    if (state.live) { state.live.close(); state.live = null; }
    if (!state.ward || !state.counter || $("work-view").hidden) return Promise.resolve(null);
    const url = API + "/wards/" + encodeURIComponent(state.ward) + "/counters/" + state.counter + "/close";
    return L.api("POST", url, {}).catch(function () { return null; });
  }

  $("logout").addEventListener("click", function () {
    leaveCounter().then(function () {
      return L.api("POST", API + "/auth/logout").catch(function () { return null; });
    }).then(function () {
      state.me = null;
      showLogin();
    });
  });

  // ------------------------------------------------------------------ counter choice
  function chooseCounter(force) {
    const params = new URLSearchParams(location.search);
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem("console.counter") || "null"); } catch (e) { saved = null; }
    const pick = params.get("ward") && params.get("counter") ?
      { ward: params.get("ward"), counter: parseInt(params.get("counter"), 10) } : saved;
    if (!force && pick && (!state.me.ward || state.me.ward === pick.ward)) { beginWork(pick.ward, pick.counter); return; }
    show("counter-view");
    $("who").textContent = whoText();
    L.api("GET", API + "/wards").then(function (wards) {
      const sel = $("ward-select");
      sel.textContent = "";
      wards.filter(function (w) { return !state.me.ward || w.code === state.me.ward; }).forEach(function (w) {
        sel.appendChild(el("option", { value: w.code, text: N(w.name) }));
      });
      if (pick) sel.value = pick.ward;
      return loadCounters(pick && pick.counter);
    }).catch(function (e) { $("counter-error").textContent = T("区役所の一覧を読めません: {reason}", { reason: e.message }); });
    $("ward-select").focus();
  }

  function loadCounters(preferred) {
    const ward = $("ward-select").value;
    return L.api("GET", API + "/wards/" + encodeURIComponent(ward) + "/queue").then(function (view) {
      const sel = $("counter-select");
      sel.textContent = "";
      const names = {};
      view.services.forEach(function (s) { names[s.code] = N(s.name); });
      view.counters.forEach(function (c) {
        const label = counterName(c) + " — " + c.services.map(function (s) { return names[s] || s; }).join(T("・"));
        sel.appendChild(el("option", { value: String(c.number), text: label }));
      });
      if (preferred) sel.value = String(preferred);
    }).catch(function (e) { $("counter-error").textContent = T("窓口の一覧を読めません: {reason}", { reason: e.message }); });
  }

  $("ward-select").addEventListener("change", function () { loadCounters(); });
  $("counter-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const ward = $("ward-select").value;
    const counter = parseInt($("counter-select").value, 10);
    if (!ward || !counter) { $("counter-error").textContent = T("窓口を選んでください。"); return; }
    localStorage.setItem("console.counter", JSON.stringify({ ward: ward, counter: counter }));
    beginWork(ward, counter);
  });
  $("change-counter").addEventListener("click", function () {
    leaveCounter().then(function () { chooseCounter(true); });
  });

  // ------------------------------------------------------------------ work
  function beginWork(ward, counter) {
    state.ward = ward;
    state.counter = counter;
    $("title").textContent = T("{counter} 番窓口", { counter: counter });
    $("who").textContent = whoText();
    document.title = T("{counter} 番窓口", { counter: counter }) + " — " + T("窓口コンソール");
    show("work-view");
    // Staff at the counter = an open counter: the wait estimates count it from now on.
    L.api("POST", API + "/wards/" + encodeURIComponent(ward) + "/counters/" + counter + "/open", {})
      .catch(function (e) { toast(T("窓口を開けられませんでした: {reason}", { reason: e.message }), true); });
    if (state.live) state.live.close();
    state.live = L.connect({
      url: API + "/events?ward=" + encodeURIComponent(ward),
      refresh: refresh,
      onEvent: function (type, data) {
        if (type === "snapshot" && data && data.counters) { render(data); return true; }
        if (type === "ticket.paid" && data && data.ticket && data.ticket.id === state.currentId) loadPayment(state.currentId);
        return false;
      },
      onAuthLost: function () { state.me = null; if (state.live) state.live.close(); showLogin(); }
    });
    const first = document.querySelector("#work-view [data-action='call_next']");
    if (first) first.focus();
  }

  function refresh() {
    return L.api("GET", API + "/wards/" + encodeURIComponent(state.ward) + "/queue").then(render);
  }

  function myCounter(view) {
    return (view.counters || []).find(function (c) { return c.number === state.counter; }) || null;
  }

  function sinceText(iso) {
    const m = L.minutesSince(iso);
    return m === null ? "" : L.minutesText(m * 60);
  }

  function render(view, ticking) {
    state.view = view;
    if (!ticking) state.viewAt = Date.now();
    const me = myCounter(view);
    if (!me) { toast(T("この窓口は区役所の設定にありません。窓口を選び直してください。"), true); return; }
    const names = {};
    view.services.forEach(function (s) { names[s.code] = N(s.name); });
    state.names = names;
    renderCurrent(me.current, names);
    renderQueues(view, me, names);
    renderHeld(view, me, names);
    renderTransfer(view, me.current);
    updateButtons(me.current);
  }

  function renderCurrent(cur, names) {
    const box = $("current");
    // #current is a live region: rebuild it only when something in it changed, or a
    // screen reader would repeat it after every event from any counter.
    const key = cur ? [cur.id, cur.status, cur.recall_count, L.minutesSince(cur.called_at)].join("|") : "none";
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.textContent = "";
    if (!cur) {
      box.appendChild(el("p", { class: "current-number", text: "—" }));
      box.appendChild(el("p", { class: "current-meta", text: T("対応中の番号はありません。「次を呼ぶ」(N)で呼び出します。") }));
    } else {
      box.appendChild(el("p", { class: "current-number", id: "current-number", text: cur.number }));
      const meta = [names[cur.service] || cur.service];
      if (cur.called_at) meta.push(T("呼出から {time}", { time: sinceText(cur.called_at) }));
      if (cur.recall_count) meta.push(T("再呼出 {n} 回", { n: cur.recall_count }));
      box.appendChild(el("p", { class: "current-meta" }, [
        el("span", { class: "status-pill", id: "current-status", text: STATUS_WORDS[cur.status] || cur.status }),
        " " + meta.join(T(" ・ "))
      ]));
    }
    const id = cur ? cur.id : null;
    if (id !== state.currentId) {
      state.currentId = id;
      state.form = null;
      loadApplication(id);
      loadPayment(id);
    }
  }

  // ------------------------------------------------------------------ the fee
  // The ticket's fee and whether it is paid; "paid at the counter" is the clerk's word,
  // recorded with their account (the server refuses it from anyone else).
  function loadPayment(id) {
    const line = $("fee-line");
    if (!id) { line.hidden = true; return; }
    L.api("GET", API + "/tickets/" + id + "/payments").then(function (p) {
      if (state.currentId !== id) return;
      line.hidden = !(p.fee_yen > 0);
      $("fee-text").textContent = T("手数料 {fee}円・{state}", {
        fee: p.fee_yen, state: p.paid ? T("支払い済み") : T("未払い") }) + " ";
      $("paid-at-counter").disabled = !!p.paid;
    }, function () { if (state.currentId === id) line.hidden = true; });
  }

  $("paid-at-counter").addEventListener("click", function () {
    const cur = currentTicket();
    if (!cur) return;
    $("paid-at-counter").disabled = true;
    L.api("POST", API + "/tickets/" + cur.id + "/paid-at-counter", {}).then(function () {
      toast(T("{number} の手数料を窓口で受け取りました", { number: cur.number }));
    }, function (e) {
      toast(T("できませんでした: {reason}", { reason: e.message }), true);
    }).then(function () { loadPayment(cur.id); });
  });

  function loadApplication(id) {
    const box = $("app-data");
    const link = $("pdf-link");
    box.textContent = "";
    link.hidden = true;
    if (!id) {
      if (window.ConsoleRoute) window.ConsoleRoute.show(null);
      $("current-summary").textContent = "";
      box.appendChild(el("p", { text: "—" }));
      updateButtons(currentTicket());
      return;
    }
    box.appendChild(el("p", { text: T("読み込み中…") }));
    $("current-summary").textContent = "";
    L.api("GET", "/web/tickets/" + id + "/application").then(function (app) {
      if (state.currentId !== id) return;
      box.textContent = "";
      $("current-summary").textContent = (app.summary || []).join(T(" ・ "));
      if (!app.sections.length) {
        box.appendChild(el("p", { text: T("この番号には申請データがありません(窓口で記入)。") }));
      } else {
        if (app.title) box.appendChild(el("h3", { class: "form-title", text: app.title }));
        const body = [];
        app.sections.forEach(function (s) {
          body.push(el("tr", null, [el("th", { scope: "colgroup", colspan: "2", class: "section", text: s.heading })]));
          s.rows.forEach(function (r) {
            // a flagged row (the card check) is what the clerk must act on: shown as an alert
            const cell = r.flag ? el("td", { class: "error-msg", text: "⚠ " + r.value }) : el("td", { text: r.value });
            body.push(el("tr", null, [el("th", { scope: "row", text: r.label }), cell]));
          });
        });
        box.appendChild(el("table", { class: "data", id: "app-table", "aria-label": T("申請内容 {number}", { number: app.number }) },
          [el("tbody", null, body)]));
      }
      if (window.ConsoleRoute) {  // a routed visit: the route and its actions (console_route.js)
        window.ConsoleRoute.show(app, { id: id, toast: toast,
                                        reload: function () { loadApplication(id); return refresh(); } });
      }
      if (app.form_pdf) {
        state.form = app.form_pdf;
        link.href = app.form_pdf;
        link.hidden = false;
      }
      updateButtons(currentTicket());
    }, function (e) {
      if (state.currentId !== id) return;
      box.textContent = "";
      box.appendChild(el("p", { class: "error-msg", text: T("申請内容を読めません: {reason}", { reason: e.message }) }));
    });
  }

  function currentTicket() {
    const me = state.view ? myCounter(state.view) : null;
    return me ? me.current : null;
  }

  function renderQueues(view, me, names) {
    const box = $("queues");
    box.textContent = "";
    const elapsed = (Date.now() - state.viewAt) / 1000;
    view.services.filter(function (s) { return me.services.indexOf(s.code) >= 0; }).forEach(function (s) {
      const h = el("h3", { id: "q-" + s.code, text: T("{service}({prefix}) — 待ち {n} 人・目安 {wait}・開いている窓口 {open}", {
        service: N(s.name), prefix: s.prefix, n: s.waiting_count, wait: L.minutesText(s.estimated_wait_seconds),
        open: s.open_counters }) });
      box.appendChild(h);
      if (!s.waiting.length) { box.appendChild(el("p", { text: T("お待ちの方はいません。") })); return; }
      const rows = s.waiting.map(function (w) {
        const waited = (w.waited_seconds || 0) + elapsed;
        const long = s.target_wait_seconds && waited > s.target_wait_seconds;
        return el("tr", null, [
          el("td", { text: w.number }),
          el("td", { text: PRIORITY_WORDS[w.priority] || "" }),
          el("td", { class: long ? "wait-long" : null, text: L.minutesText(waited) + (long ? T("(目標超過)") : "") })
        ]);
      });
      box.appendChild(el("table", { class: "data", "aria-labelledby": "q-" + s.code }, [
        el("thead", null, [el("tr", null, [el("th", { scope: "col", text: T("番号") }), el("th", { scope: "col", text: T("区分") }),
          el("th", { scope: "col", text: T("待ち時間") })])]),
        el("tbody", null, rows)
      ]));
    });
  }

  function renderHeld(view, me, names) {
    const box = $("held");
    box.textContent = "";
    const mine = function (t) { return me.services.indexOf(t.service) >= 0; };
    const held = (view.held || []).filter(mine);
    const noShow = (view.no_show || []).filter(mine);
    if (!held.length && !noShow.length) { box.appendChild(el("p", { text: T("保留・不在の番号はありません。") })); return; }
    const list = el("ul", { class: "plain" });
    held.forEach(function (t) {
      list.appendChild(el("li", null, [
        T("{number}({service}・保留)", { number: t.number, service: names[t.service] || t.service }) + " ",
        el("button", { class: "btn secondary", type: "button", text: T("この窓口で呼ぶ"),
                       "aria-label": T("{number} をこの窓口で呼ぶ", { number: t.number }),
                       onclick: function () { act("call", t.id, t.number, { counter: state.counter }); } }),
        " ",
        el("button", { class: "btn secondary", type: "button", text: T("列に戻す"),
                       "aria-label": T("{number} を列に戻す", { number: t.number }),
                       onclick: function () { act("resume", t.id, t.number, {}); } })
      ]));
    });
    noShow.forEach(function (t) {
      list.appendChild(el("li", null, [
        T("{number}({service}・不在)", { number: t.number, service: names[t.service] || t.service }) + " ",
        el("button", { class: "btn secondary", type: "button", text: T("再呼出"),
                       "aria-label": T("{number} を再呼出", { number: t.number }),
                       onclick: function () { act("recall", t.id, t.number, { counter: state.counter }); } })
      ]));
    });
    box.appendChild(list);
  }

  function renderTransfer(view, cur) {
    const sel = $("transfer-service");
    const keep = sel.value;
    sel.textContent = "";
    view.services.filter(function (s) { return !cur || s.code !== cur.service; }).forEach(function (s) {
      sel.appendChild(el("option", { value: s.code, text: T("{service}({prefix})", { service: N(s.name), prefix: s.prefix }) }));
    });
    if (keep) sel.value = keep;
  }

  function updateButtons(cur) {
    document.querySelectorAll("#work-view [data-action]").forEach(function (b) {
      const ok = ENABLED[b.dataset.action];
      b.disabled = ok ? !ok(cur) : false;
    });
    $("transfer-service").disabled = !ENABLED.transfer(cur);
  }

  // ------------------------------------------------------------------ actions
  const PATHS = { recall: "recall", start: "start", complete: "complete", hold: "hold", no_show: "no-show",
                  transfer: "transfer", call: "call", resume: "resume" };

  function act(action, id, number, body) {
    const url = API + "/tickets/" + id + "/" + PATHS[action];
    return L.api("POST", url, body).then(function (t) {
      toast(done(action, (t && t.number) || number));
      return refresh();
    }, function (e) { toast(T("できませんでした: {reason}", { reason: e.message }), true); });
  }

  function run(action) {
    const cur = currentTicket();
    if (action === "call_next") {
      return L.api("POST", API + "/wards/" + encodeURIComponent(state.ward) + "/counters/" + state.counter + "/call-next", {})
        .then(function (t) {
          toast(t ? done("call_next", t.number) : T("お待ちの方はいません。"));
          return refresh();
        }, function (e) { toast(T("できませんでした: {reason}", { reason: e.message }), true); });
    }
    if (action === "print") {
      // Through the link itself (target=_blank, rel=noopener): the browser's PDF viewer
      // opens in a new tab, where it prints with Ctrl+P.
      if (state.form) $("pdf-link").click();
      return null;
    }
    if (action === "focus_transfer") { $("transfer-service").focus(); return null; }
    if (!cur) return null;
    const body = { counter: state.counter };
    if (action === "transfer") body.service = $("transfer-service").value;
    return act(action, cur.id, cur.number, body);
  }

  document.querySelectorAll("#work-view [data-action]").forEach(function (b) {
    b.addEventListener("click", function () { run(b.dataset.action); });
  });

  document.addEventListener("keydown", function (ev) {
    if ($("work-view").hidden || ev.ctrlKey || ev.altKey || ev.metaKey || ev.repeat) return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (ev.target && ev.target.isContentEditable)) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    const action = KEYS[(ev.key || "").toLowerCase()];
    if (!action) return;
    const btn = document.querySelector("#work-view [data-action='" + action + "']");
    ev.preventDefault();
    if (btn && btn.disabled) { toast(T("今は「{action}」はできません。", { action: btn.firstChild.textContent })); return; }
    run(action);
  });

  // Waiting times tick on without a server round trip.
  setInterval(function () { if (state.view && !$("work-view").hidden) render(state.view, true); }, 30000);

  start();
})();
