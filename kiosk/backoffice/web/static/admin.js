/* Admin page: staff accounts and devices of the admin's ward (all wards for a city-wide
   admin), through /api/v1/admin — the server validates, refuses (with a reason shown here)
   and writes every change to the audit trail, listed at the bottom. A generated password
   or a device token is shown once, in the box at the top. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const cfg = L.config();
  const API = cfg.api;
  const T = L.T;
  const ACTIONS = {  // the audit trail's actions (account_events.action)
    "staff.created": T("職員アカウント作成"), "staff.password_reset": T("パスワード再設定"),
    "staff.disabled": T("無効化"), "staff.enabled": T("有効化"), "device.created": T("機器登録"),
    "device.token_rotated": T("トークン再発行"),
    "device.enrolment_code": T("登録コード発行"), "device.revoked": T("登録解除"),
    "release.registered": T("版の登録"), "release.published": T("版の公開"),
    "release.withdrawn": T("版の取り下げ"), "release.ward_target": T("配信版の設定")
  };

  // Kiosk releases (/admin/releases): each ward's target; a ward's admin sets its own.
  function releases(overview) {
    fill("release-table", overview.releases, function (r) {
      return el("tr", { "data-release": r.version }, [el("th", { scope: "row", text: r.version }),
        el("td", { text: r.published ? T("公開中") : T("取り下げ") }), el("td", { text: r.created_at || "—" })]);
    });
    fill("ward-release-table", overview.wards, function (w) {
      let version = w.version || T("保留中（更新しない）");
      if (w.canary_version && w.canary.length) version += " / " + T("先行: {version}（{n} 台）", { version: w.canary_version, n: w.canary.length });
      return el("tr", { "data-ward": w.ward }, [el("th", { scope: "row", text: w.ward }), el("td", { class: "rel-version", text: version }),
        el("td", { text: w.updated_by || T("コマンドライン") }), el("td", { text: w.updated_at || "—" })]);
    });
    const pick = document.getElementById("release-version");
    const chosen = pick.value;
    pick.textContent = "";
    pick.appendChild(el("option", { value: "", text: T("保留中（更新しない）") }));
    overview.releases.filter(function (r) { return r.published; }).forEach(function (r) {
      pick.appendChild(el("option", { value: r.version, text: r.version }));
    });
    pick.value = chosen;
  }

  function fail(e) {
    document.getElementById("adm-error").textContent = T("できませんでした: {reason}", { reason: e.message });
  }

  function secret(what, value) {
    document.getElementById("adm-secret").hidden = false;
    document.getElementById("adm-secret-what").textContent = what;
    document.getElementById("adm-secret-value").textContent = value;
  }

  function act(method, path, body) {
    document.getElementById("adm-error").textContent = "";
    document.getElementById("adm-secret").hidden = true;
    return L.api(method, API + path, body).then(function (answer) { load(); return answer; }, function (e) { fail(e); throw e; });
  }

  function button(label, action, danger) {
    return el("button", { class: danger ? "btn danger" : "btn secondary", type: "button", text: label,
                          onclick: function () { action().catch(function () { /* shown by fail() */ }); } });
  }

  function staffRow(s) {
    const user = encodeURIComponent(s.username);
    return el("tr", { "data-user": s.username }, [
      el("th", { scope: "row", text: s.username }), el("td", { text: s.role }),
      el("td", { text: s.ward || T("全区") }),
      el("td", { class: "adm-active", text: s.active ? T("有効") : T("無効") }),
      el("td", {}, [
        button(T("パスワード再設定"), function () {
          return act("POST", "/admin/staff/" + user + "/reset-password", {}).then(function (a) {
            secret(T("{user} の新しいパスワード", { user: s.username }), a.password);
          });
        }),
        s.active ? button(T("無効化"), function () { return act("POST", "/admin/staff/" + user + "/disable"); }, true)
                 : button(T("有効化"), function () { return act("POST", "/admin/staff/" + user + "/enable"); })
      ])
    ]);
  }

  function deviceRow(d) {
    return el("tr", { "data-device": d.name }, [
      el("th", { scope: "row", text: d.name }), el("td", { text: d.kind }), el("td", { text: d.ward }),
      el("td", { class: "adm-active", text: d.active ? T("有効") : T("登録解除") }),
      el("td", {}, d.active ? [
        button(T("トークン再発行"), function () {
          return act("POST", "/admin/devices/" + d.id + "/rotate-token").then(function (a) {
            secret(T("{device} の新しいトークン", { device: d.name }), a.token);
          });
        }),
        button(T("登録コード発行"), function () {
          return act("POST", "/admin/devices/" + d.id + "/enrolment-code").then(function (a) {
            secret(T("{device} の登録コード(有効期限 {expires})", { device: d.name, expires: a.expires_at }), a.code);
          });
        }),
        button(T("登録解除"), function () { return act("DELETE", "/admin/devices/" + d.id); }, true)
      ] : [])
    ]);
  }

  function fill(id, rows, make) {
    const body = document.querySelector("#" + id + " tbody");
    body.textContent = "";
    rows.forEach(function (r) { body.appendChild(make(r)); });
  }

  function load() {
    return Promise.all([L.api("GET", API + "/admin/staff"), L.api("GET", API + "/devices"),
                        L.api("GET", API + "/admin/account-events?limit=50"),
                        L.api("GET", API + "/admin/releases")]).then(function (all) {
      releases(all[3]);
      fill("staff-table", all[0], staffRow);
      fill("device-table", all[1], deviceRow);
      fill("audit-table", all[2], function (e) {
        return el("tr", {}, [el("td", { text: e.at || "—" }), el("td", { text: ACTIONS[e.action] || e.action }),
          el("td", { text: e.actor || T("コマンドライン") }), el("td", { text: e.target }), el("td", { text: e.ward || T("全区") })]);
      });
      document.body.dataset.rendered = String(Date.now());
    }, fail);
  }

  function value(id) { return document.getElementById(id).value; }

  document.getElementById("staff-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const body = { username: value("staff-username"), role: value("staff-role"), ward: value("staff-ward") || null };
    if (value("staff-password")) body.password = value("staff-password");
    act("POST", "/admin/staff", body).then(function (a) {
      if (a.password) secret(T("{user} のパスワード", { user: a.username }), a.password);
      ev.target.reset();
    }, function () { /* shown by fail() */ });
  });
  document.getElementById("device-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    act("POST", "/admin/devices", { name: value("device-name"), kind: value("device-kind"), ward: value("device-ward") })
      .then(function (a) { secret(T("{device} のトークン", { device: a.name }), a.token); ev.target.reset(); },
            function () { /* shown by fail() */ });
  });

  document.getElementById("release-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    act("PUT", "/admin/wards/" + encodeURIComponent(value("release-ward")) + "/release",
        { version: value("release-version") || null }).catch(function () { /* shown by fail() */ });
  });

  L.api("GET", API + "/wards").then(function (wards) {
    document.querySelectorAll(".ward-choice").forEach(function (sel) {
      if (!cfg.ward && sel.id === "staff-ward") sel.appendChild(el("option", { value: "", text: T("全区") }));
      wards.filter(function (w) { return !cfg.ward || w.code === cfg.ward; }).forEach(function (w) {
        sel.appendChild(el("option", { value: w.code, text: T(w.name) }));
      });
    });
  });
  load();
})();
