/* Supervisor overview, issue #22: how good today's wait estimates were (per service and
   hour) and a staffing what-if on the ward's own history. Numbers only. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const API = L.config().api;
  const T = L.T;
  const sel = document.getElementById("ward-select");

  function share(x) { return x === null || x === undefined ? "—" : Math.round(x * 100) + "%"; }
  function mins(x) { return x === null || x === undefined ? "—" : T("{minutes} 分", { minutes: x }); }

  function accuracy(ward) {
    L.api("GET", API + "/wards/" + encodeURIComponent(ward) + "/estimate-accuracy").then(function (a) {
      const body = document.querySelector("#accuracy-table tbody");
      body.textContent = "";
      a.rows.forEach(function (r) {
        body.appendChild(el("tr", { "data-service": r.service, "data-hour": String(r.hour) }, [
          el("th", { scope: "row", text: r.service }),
          el("td", { text: T("{hour} 時台", { hour: r.hour }) }),
          el("td", { class: "acc-n", text: String(r.n) }),
          el("td", { text: mins(r.mae_min) }), el("td", { text: mins(r.bias_min) }),
          el("td", { text: share(r.within_5min) }), el("td", { text: share(r.in_range) })
        ]));
      });
      if (!a.rows.length) body.appendChild(el("tr", {}, [el("td", { colspan: "7", text: T("まだ記録がありません") })]));
      document.body.dataset.accuracy = String(a.rows.length);
    }, function () { /* the overview above says when the API is unreachable */ });
  }

  function services(ward) {
    L.api("GET", API + "/wards/" + encodeURIComponent(ward) + "/queue").then(function (v) {
      const s = document.getElementById("wif-service");
      s.textContent = "";
      v.services.forEach(function (x) { s.appendChild(el("option", { value: x.code, text: T(x.name) })); });
    });
  }

  document.getElementById("wif-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const out = document.getElementById("wif-result");
    const q = new URLSearchParams({
      service: document.getElementById("wif-service").value,
      counters: document.getElementById("wif-counters").value,
      start: document.getElementById("wif-start").value,
      end: document.getElementById("wif-end").value
    });
    const wd = document.getElementById("wif-weekday").value;
    const months = document.getElementById("wif-months").value.trim();
    if (wd) q.set("weekday", wd);
    if (months) q.set("months", months);
    out.textContent = T("試算しています…");
    L.api("GET", API + "/wards/" + encodeURIComponent(sel.value) + "/what-if?" + q.toString()).then(function (w) {
      out.textContent = w.days.length ? T("{days} 日分の記録で、{start}〜{end} に窓口 {n} か所なら、その時間に来た人の待ち時間(90%)は {x}(今の配置では {y})。前提: 来る人は記録のとおり、窓口の処理時間は記録のとおり。", {
        days: w.days.length, start: w.start, end: w.end, n: w.counters,
        x: mins(w.what_if_window_p90_min), y: mins(w.baseline_window_p90_min) })
        : T("該当する日の記録がありません");
      document.body.dataset.whatIf = String(w.days.length);
    }, function (e) { out.textContent = T("読み込めません: {reason}", { reason: e.message }); });
  });

  function load() { if (sel.value) { accuracy(sel.value); services(sel.value); } }
  sel.addEventListener("change", load);
  // the overview fills the ward list first
  const wait = setInterval(function () { if (sel.value) { clearInterval(wait); load(); } }, 100);
})();
