/* The staffing what-if (issue #22) on a ward's own history: on the supervisor page for the
   page's ward (#ward-select), on the central page for the ward chosen in the form
   (#wif-ward). The services offered come from the public catalog. Numbers only. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const API = L.config().api;
  const T = L.T;
  const sel = document.getElementById("wif-ward") || document.getElementById("ward-select");
  let catalog = null;

  function mins(x) { return x === null || x === undefined ? "—" : T("{minutes} 分", { minutes: x }); }

  function services() {
    const s = document.getElementById("wif-service");
    const ward = catalog && catalog.wards.find(function (w) { return w.code === sel.value; });
    s.textContent = "";
    if (!ward) return;
    catalog.services.filter(function (x) { return ward.services.indexOf(x.code) >= 0; })
      .forEach(function (x) { s.appendChild(el("option", { value: x.code, text: T(x.name) })); });
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

  L.api("GET", API + "/catalog").then(function (c) {
    catalog = c;
    sel.addEventListener("change", services);
    // the supervisor overview fills its ward list first
    const wait = setInterval(function () { if (sel.value) { clearInterval(wait); services(); } }, 100);
  });
})();
