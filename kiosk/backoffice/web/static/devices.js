/* Supervisor's devices: each kiosk, display and terminal of the ward with its state, live
   from /devices/health/stream. Any problem (a reported fault, or no heartbeat for longer
   than [devices] stale_seconds) raises the alarm: a banner and, once sound is allowed by
   a click (browsers require one), the chime — again whenever a new problem appears. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const API = cfg.api;
  const T = L.T;
  const KINDS = { kiosk: T("キオスク"), display: T("呼出表示"), terminal: T("決済端末") };
  const PROBLEMS = {
    "printer:paper_out": T("プリンター: 用紙切れ"),
    "printer:paper_near_end": T("プリンター: 用紙残りわずか"),
    "printer:cover_open": T("プリンター: カバーが開いています"),
    "printer:offline": T("プリンター: 応答がありません"),
    "printer:error": T("プリンター: 故障"),
    "card_reader:missing": T("カードリーダー: 見つかりません"),
    "card_reader:error": T("カードリーダー: 故障"),
    "payment_terminal:offline": T("決済端末: 応答がありません"),
    "payment_terminal:maintenance": T("決済端末: 保守中"),
    "status:error": T("機器がエラーを報告しています"),
    "stale": T("応答が途絶えています"),
    "never_seen": T("まだ一度も応答がありません"),
    "disk:low": T("ディスクの空きが少なくなっています"),
    "outbox:backlog": T("未送信のデータが溜まっています"),
    "update:failed": T("更新に失敗しました"),
    "update:rolled_back": T("更新後に起動せず、元の版に戻りました")
  };

  // The kiosk's update agent (its heartbeat's `update`), in words; why it waits, when it
  // says (a busy back-office, no answer from it).
  function updateText(u) {
    const text = stateText(u);
    return u && u.reason && u.state !== "failed" ? text + " " + T("（{reason}）", { reason: u.reason }) : text;
  }

  function stateText(u) {
    if (!u) return "—";
    const v = { version: u.target || "", n: u.progress === null || u.progress === undefined ? 0 : u.progress };
    switch (u.state) {
      case "up-to-date": return T("最新");
      case "downloading": return T("{version} をダウンロード中 {n}%", v);
      case "waiting-idle": return T("{version}: 利用中のため待機", v);
      case "installing": return T("{version} をインストール中 {n}%", v);
      case "waiting-reboot": return T("{version}: 再起動待ち", v);
      case "rebooting": return T("{version}: 再起動中", v);
      case "failed": return T("{version} の更新に失敗: {reason}", { version: u.target || "", reason: u.reason || "" });
      case "rolled-back": return T("{version} は起動せず元に戻しました", { version: u.rolled_back || u.target || "" });
      default: return u.state;
    }
  }

  function releaseText(r) {
    if (!r) return "";
    let text = T("この区の配信版: {version}", { version: r.version || T("保留中（更新しない）") });
    if (r.canary_version && r.canary.length) {
      text += " / " + T("先行: {version}（{n} 台）", { version: r.canary_version, n: r.canary.length });
    }
    return text;
  }
  let live = null;
  let soundOn = false;
  let known = {};   // problem keys already alarmed ("<device id> <problem>")

  function problemText(p) {   // a payment terminal's own error codes are shown as it sends them
    if (p.indexOf("terminal_error:") === 0) return T("決済端末のエラー: {code}", { code: p.slice(15) });
    return PROBLEMS[p] || p;
  }

  function chime() {
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
    if (!soundOn) return;
    const audio = document.getElementById("dv-chime");
    audio.currentTime = 0;
    const played = audio.play();
    if (played && played.catch) played.catch(function () { /* no sound device: the banner stays */ });
  }

  let lastView = null;
  let renderedAt = 0;

  function render(v) {
    lastView = v;
    renderedAt = Date.now();
    draw(v, 0);
  }

  // The stream sends only changes: between them the ages go on counting here.
  setInterval(function () { if (lastView) draw(lastView, Math.floor((Date.now() - renderedAt) / 1000)); }, 5000);

  function draw(v, later) {
    const body = document.querySelector("#devices-table tbody");
    body.textContent = "";
    const now = {};
    let troubled = 0;
    v.devices.forEach(function (d) {
      d.problems.forEach(function (p) { now[d.id + " " + p] = true; });
      if (d.alarm) troubled += 1;
      const state = !d.active ? T("登録解除") : (d.alarm ? d.problems.map(problemText).join(T("・")) : T("正常"));
      body.appendChild(el("tr", { "data-device": d.name, "data-alarm": d.alarm ? "true" : "false",
                                  class: d.alarm ? "dv-trouble" : null }, [
        el("th", { scope: "row", text: d.name }),
        el("td", { text: KINDS[d.kind] || d.kind }),
        el("td", { class: "dv-state", "data-problems": d.problems.join(" "), text: state }),
        el("td", { text: d.age_seconds === null ? "—" : T("{n} 秒前", { n: d.age_seconds + later }) }),
        el("td", { text: d.last_transaction_at ? T("最終取引 {at}", { at: d.last_transaction_at.slice(11, 16) }) : (d.version || "—") }),
        el("td", { class: "dv-update", "data-state": d.update ? d.update.state : "",
                   text: updateText(d.update) }),
        el("td", { text: d.outbox_pending === null ? "—" : String(d.outbox_pending) }),
        el("td", { text: d.disk_free_mb === null ? "—" : T("{n} MB", { n: d.disk_free_mb }) })
      ]));
    });
    const release = document.getElementById("dv-release");
    release.textContent = releaseText(v.release);
    release.dataset.version = v.release && v.release.version ? v.release.version : "";
    const banner = document.getElementById("dv-alarm");
    banner.hidden = !troubled;
    banner.textContent = troubled ? T("異常のある機器があります: {n} 台", { n: troubled }) : "";
    document.body.dataset.alarm = troubled ? "true" : "false";
    const fresh = Object.keys(now).some(function (k) { return !known[k]; });
    known = now;
    if (fresh) chime();
    document.body.dataset.rendered = String(Date.now());
  }

  function watch(ward) {
    if (live) live.close();
    known = {};
    const q = "?ward=" + encodeURIComponent(ward);
    const refresh = function () {
      return L.api("GET", API + "/devices/health" + q).then(render, function (e) {
        document.getElementById("sv-error").textContent = T("読み込めません: {reason}", { reason: e.message });
        throw e;
      });
    };
    live = L.connect({
      url: API + "/devices/health/stream" + q, refresh: refresh, eventTypes: ["devices"],
      // The stream re-sends the whole list on every change (and as the first message).
      onEvent: function (type, data) { if (type === "devices" && data && data.devices) { render(data); return true; } return false; }
    });
  }

  const sound = document.getElementById("dv-sound");
  sound.addEventListener("click", function () {
    soundOn = !soundOn;
    sound.setAttribute("aria-pressed", soundOn ? "true" : "false");
    sound.textContent = soundOn ? T("警報音を止める") : T("警報音を鳴らす");
  });

  L.wardSelect(document.getElementById("ward-select"), cfg, watch);
})();
