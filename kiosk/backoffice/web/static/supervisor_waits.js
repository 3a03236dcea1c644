/* Supervisor overview, issue #22: how good today's wait estimates were (per service and
   hour). Numbers only. The staffing what-if below it: what_if.js. */
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

  function load() { if (sel.value) accuracy(sel.value); }
  sel.addEventListener("change", load);
  // the overview fills the ward list first
  const wait = setInterval(function () { if (sel.value) { clearInterval(wait); load(); } }, 100);
})();
