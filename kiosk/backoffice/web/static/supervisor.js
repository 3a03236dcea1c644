/* Supervisor overview: per service waiting count, longest wait, counters open; per
   counter the current ticket and its state. Live from the ward's event stream. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const API = cfg.api;
  const T = L.T;
  const STATUS_WORDS = { waiting: T("待ち"), called: T("呼出中"), serving: T("対応中"), held: T("保留"),
                         no_show: T("不在") };
  let live = null;

  function render(v) {
    const names = {};
    const svcBody = document.querySelector("#services-table tbody");
    svcBody.textContent = "";
    v.services.forEach(function (s) {
      names[s.code] = T(s.name);
      const longest = s.waiting.reduce(function (m, w) { return Math.max(m, w.waited_seconds || 0); }, 0);
      const over = s.target_wait_seconds && longest > s.target_wait_seconds;
      svcBody.appendChild(el("tr", { "data-service": s.code }, [
        el("th", { scope: "row", text: T("{service}({prefix})", { service: T(s.name), prefix: s.prefix }) }),
        el("td", { class: "waiting-count", text: T("{n} 人", { n: s.waiting_count }) }),
        el("td", { class: over ? "wait-long" : null, text: s.waiting.length ? L.minutesText(longest) + (over ? T("(目標超過)") : "") : "—" }),
        el("td", { class: "open-counters", text: String(s.open_counters) }),
        el("td", { text: L.minutesText(s.target_wait_seconds) })
      ]));
    });
    const ctrBody = document.querySelector("#counters-table tbody");
    ctrBody.textContent = "";
    v.counters.forEach(function (c) {
      const cur = c.current;
      ctrBody.appendChild(el("tr", { "data-counter": String(c.number) }, [
        el("th", { scope: "row", text: c.name ? T(c.name) : T("{counter} 番窓口", { counter: c.number }) }),
        el("td", { text: c.open ? T("開") : T("閉") }),
        el("td", { class: "cur-number", text: cur ? cur.number : "—" }),
        el("td", { class: "cur-status", text: cur ? (STATUS_WORDS[cur.status] || cur.status) : (c.open ? T("空き") : "—") }),
        el("td", { text: c.services.map(function (s) { return names[s] || s; }).join(T("・")) })
      ]));
    });
    document.body.dataset.rendered = String(Date.now());
  }

  function watch(ward) {
    if (live) live.close();
    const refresh = function () {
      return L.api("GET", API + "/wards/" + encodeURIComponent(ward) + "/queue").then(render, function (e) {
        document.getElementById("sv-error").textContent = T("読み込めません: {reason}", { reason: e.message });
        throw e;
      });
    };
    live = L.connect({
      url: API + "/events?ward=" + encodeURIComponent(ward), refresh: refresh,
      onEvent: function (type, data) { if (type === "snapshot" && data && data.counters) { render(data); return true; } return false; }
    });
  }

  L.wardSelect(document.getElementById("ward-select"), cfg, watch);
})();
