/* The central page, issue #22: how good the wait estimates shown to residents were, ward by
   ward with the same definitions (docs/statistics.md), for the page's period. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const API = L.config().api;
  const T = L.T;
  const first = document.getElementById("period-from").value;
  const last = document.getElementById("period-to").value;
  const query = "?from=" + encodeURIComponent(first) + "&to=" + encodeURIComponent(last);

  function share(x) { return x === null || x === undefined ? "—" : Math.round(x * 100) + "%"; }
  function mins(x) { return x === null || x === undefined ? "—" : T("{minutes} 分", { minutes: x }); }

  document.getElementById("accuracy-csv").href = API + "/central/estimate-accuracy.csv" + query;
  L.api("GET", API + "/central/estimate-accuracy" + query).then(function (a) {
    const body = document.querySelector("#accuracy-table tbody");
    body.textContent = "";
    a.wards.forEach(function (w) {
      body.appendChild(el("tr", { "data-ward": w.ward }, [
        el("th", { scope: "row", text: w.ward }),
        el("td", { class: "acc-n", text: String(w.n) }),
        el("td", { text: mins(w.mae_min) }), el("td", { text: mins(w.bias_min) }),
        el("td", { text: share(w.within_5min) }), el("td", { text: share(w.in_range) })
      ]));
    });
    if (!a.wards.length) body.appendChild(el("tr", {}, [el("td", { colspan: "6", text: T("まだ記録がありません") })]));
    document.body.dataset.accuracy = String(a.wards.length);
  }, function () { /* the page's own figures stand without these */ });
})();
