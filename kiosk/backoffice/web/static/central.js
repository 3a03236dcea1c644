/* Central office (本庁) view: every ward's waits now, re-read every 15 s from
   /api/v1/central/now (numbers only). The period figures, chart and CSV link are drawn
   by the server. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const T = L.T;
  const cfg = L.config();
  const API = cfg.api;
  let failures = 0;

  function render(data) {
    const names = data.names || { wards: {}, services: {} };
    const wards = document.querySelector("#now-wards tbody");
    const services = document.querySelector("#now-services tbody");
    wards.textContent = "";
    services.textContent = "";
    data.wards.forEach(function (w) {
      const wardName = names.wards[w.ward] || w.ward;
      wards.appendChild(el("tr", { "data-ward": w.ward }, [
        el("th", { scope: "row", text: wardName }),
        el("td", { class: "waiting", text: T("{n} 人", { n: w.waiting }) }),
        el("td", { class: "longest", text: L.minutesText(w.longest_wait_seconds) }),
        el("td", { class: "at-counters", text: String(w.at_counters) }),
        el("td", { class: "open", text: w.counters_open + " / " + w.counters })
      ]));
      w.services.forEach(function (s) {
        const over = s.longest_wait_seconds !== null && s.longest_wait_seconds > s.target_wait_seconds;
        services.appendChild(el("tr", { "data-ward": w.ward, "data-service": s.service }, [
          el("th", { scope: "row", text: wardName }),
          el("td", { text: names.services[s.service] || s.service }),
          el("td", { class: "waiting", text: T("{n} 人", { n: s.waiting }) }),
          el("td", { class: over ? "longest wait-long" : "longest",
                     text: L.minutesText(s.longest_wait_seconds) + (over ? T("(目標超過)") : "") }),
          el("td", { text: L.minutesText(s.target_wait_seconds) }),
          el("td", { text: String(s.counters_open) })
        ]));
      });
    });
    document.getElementById("now-updated").textContent =
      T("最終更新 {time}", { time: new Date().toLocaleTimeString(document.documentElement.lang) });
    document.body.dataset.rendered = String(Date.now());
  }

  function refresh() {
    L.api("GET", API + "/central/now").then(function (data) {
      failures = 0;
      L.banner(null);
      document.getElementById("ct-error").textContent = "";
      render(data);
    }, function (e) {
      if (e.status === 401) { location.href = "/console?next=/central"; return; }
      failures += 1;
      if (!e.status) L.banner(T("接続が切れました — 再接続しています…"));
      else document.getElementById("ct-error").textContent = T("読み込めません: {reason}", { reason: e.message });
    });
  }

  refresh();
  setInterval(refresh, 15000);
})();
