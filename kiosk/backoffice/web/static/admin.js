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
    "release.withdrawn": T("版の取り下げ"), "release.ward_target": T("配信版の設定"),
    "release.deleted": T("版の削除")
  };

  // Kiosk releases (/admin/releases): a city-wide admin registers, withdraws and
  // republishes them; each ward's target and canary, a ward's admin sets its own. Each form
  // shows the server's refusal next to it and keeps what was typed.
  let overview = { releases: [], wards: [] };
  let kiosks = [];

  const SIGNATURE = { verified: T("確認済み"), unchecked: T("未確認") };

  // Deleting asks twice: the release, then whether its file in the bundle folder goes too
  // (Cancel keeps the file). The server refuses one a ward targets (shown under the list).
  function remove(r) {
    const path = "/admin/releases/" + encodeURIComponent(r.version);
    if (!window.confirm(T("版 {version} を削除しますか?", { version: r.version }))) return Promise.resolve();
    const file = Boolean(r.filename) && window.confirm(
      T("バンドルフォルダのファイル {file} も削除しますか?(キャンセル: ファイルは残します)", { file: r.filename }));
    return act("DELETE", path + (file ? "?remove_file=true" : ""), undefined, "release-table-error");
  }

  function releaseRow(r) {
    const path = "/admin/releases/" + encodeURIComponent(r.version);
    const toggle = r.published
      ? button(T("取り下げ"), function () { return act("PATCH", path, { published: false }, "release-table-error"); }, true)
      : button(T("版の公開"), function () { return act("PATCH", path, { published: true }, "release-table-error"); });
    const drop = el("button", { class: "btn danger rel-delete", type: "button", text: T("削除"),
                                onclick: function () { remove(r).catch(function () { /* shown by fail() */ }); } });
    return el("tr", { "data-release": r.version }, [el("th", { scope: "row", text: r.version }),
      el("td", { class: "rel-state", text: r.published ? T("公開中") : T("取り下げ") }),
      el("td", { class: "rel-signature", text: SIGNATURE[r.signature] || T("URL(このサーバーでは未確認)") }),
      el("td", { text: r.created_at || "—" }),
      el("td", { text: r.notes || "" }), el("td", {}, cfg.ward ? [] : [toggle, drop])]);
  }

  // The files in the bundle folder no release names yet (a city-wide admin's form).
  function bundleFiles(data) {
    const list = document.getElementById("reg-files");
    list.textContent = "";
    data.files.forEach(function (f) { list.appendChild(el("option", { value: f.filename })); });
    document.getElementById("reg-files-note").textContent = !data.bundle_dir ? T("このサーバーはバンドルを配信しません(URL で登録)")
      : data.files.length ? T("未登録のファイル: {files}", { files: data.files.map(function (f) { return f.filename; }).join(", ") })
      : T("バンドルフォルダに未登録のファイルはありません");
  }

  function options(id, first, values) {
    const pick = document.getElementById(id);
    const chosen = Array.from(pick.selectedOptions).map(function (o) { return o.value; });
    pick.textContent = "";
    if (first) pick.appendChild(el("option", { value: "", text: first }));
    values.forEach(function (v) { pick.appendChild(el("option", { value: v, text: v })); });
    Array.from(pick.options).forEach(function (o) { o.selected = chosen.indexOf(o.value) >= 0; });
  }

  // The chosen ward's kiosks (its canary candidates); with `reset`, its current target too.
  function wardChoices(reset) {
    const ward = value("release-ward");
    const target = overview.wards.filter(function (w) { return w.ward === ward; })[0];
    const names = kiosks.filter(function (d) { return d.ward === ward && d.kind === "kiosk" && d.active; })
      .map(function (d) { return d.name; });
    (target ? target.canary : []).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); });
    if (reset) document.getElementById("release-canary").textContent = "";
    options("release-canary", null, names);
    if (!reset || !target) return;
    document.getElementById("release-version").value = target.version || "";
    document.getElementById("release-canary-version").value = target.canary_version || "";
    Array.from(document.getElementById("release-canary").options).forEach(function (o) {
      o.selected = target.canary.indexOf(o.value) >= 0;
    });
  }

  function releases(data, devices, first) {
    overview = data;
    kiosks = devices;
    fill("release-table", data.releases, releaseRow);
    fill("ward-release-table", data.wards, function (w) {
      let version = w.version || T("保留中（更新しない）");
      if (w.canary_version && w.canary.length) version += " / " + T("先行: {version}（{n} 台）", { version: w.canary_version, n: w.canary.length });
      return el("tr", { "data-ward": w.ward }, [el("th", { scope: "row", text: w.ward }), el("td", { class: "rel-version", text: version }),
        el("td", { text: w.updated_by || T("コマンドライン") }), el("td", { text: w.updated_at || "—" })]);
    });
    const published = data.releases.filter(function (r) { return r.published; }).map(function (r) { return r.version; });
    options("release-version", T("保留中（更新しない）"), published);
    options("release-canary-version", T("先行なし"), published);
    wardChoices(first);
  }

  function fail(e, where) {
    document.getElementById(where || "adm-error").textContent = T("できませんでした: {reason}", { reason: e.message });
  }

  function secret(what, value) {
    document.getElementById("adm-secret").hidden = false;
    document.getElementById("adm-secret-what").textContent = what;
    document.getElementById("adm-secret-value").textContent = value;
  }

  // `where`: the id of the error line next to the form (the page's top line by default).
  function act(method, path, body, where) {
    document.querySelectorAll(".error-msg").forEach(function (p) { p.textContent = ""; });
    document.getElementById("adm-secret").hidden = true;
    return L.api(method, API + path, body).then(function (answer) { load(); return answer; }, function (e) { fail(e, where); throw e; });
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

  let loaded = false;

  function load() {
    return Promise.all([L.api("GET", API + "/admin/staff"), L.api("GET", API + "/devices"),
                        L.api("GET", API + "/admin/account-events?limit=50"),
                        L.api("GET", API + "/admin/releases"),
                        cfg.ward ? null : L.api("GET", API + "/admin/bundles")]).then(function (all) {
      releases(all[3], all[1], !loaded);
      if (all[4]) bundleFiles(all[4]);
      loaded = true;
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
    const canary = Array.from(document.getElementById("release-canary").selectedOptions).map(function (o) { return o.value; });
    act("PUT", "/admin/wards/" + encodeURIComponent(value("release-ward")) + "/release",
        { version: value("release-version") || null, canary_version: value("release-canary-version") || null, canary: canary },
        "release-error").catch(function () { /* shown by fail() */ });
  });
  document.getElementById("release-ward").addEventListener("change", function () { wardChoices(true); });

  const register = document.getElementById("release-register-form");
  register.hidden = Boolean(cfg.ward);   // a city-wide admin's (the server refuses others too)
  register.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const body = { version: value("reg-version"), compatible: value("reg-compatible"), sha256: value("reg-sha256") || null,
                   size: value("reg-size") ? Number(value("reg-size")) : null, filename: value("reg-filename") || null, url: value("reg-url") || null,
                   notes: value("reg-notes") || null };
    act("POST", "/admin/releases", body, "release-register-error")
      .then(function () { ev.target.reset(); }, function () { /* shown by fail(); the form keeps what was typed */ });
  });

  L.api("GET", API + "/wards").then(function (wards) {
    document.querySelectorAll(".ward-choice").forEach(function (sel) {
      if (!cfg.ward && sel.id === "staff-ward") sel.appendChild(el("option", { value: "", text: T("全区") }));
      wards.filter(function (w) { return !cfg.ward || w.code === cfg.ward; }).forEach(function (w) {
        sel.appendChild(el("option", { value: w.code, text: T(w.name) }));
      });
    });
    if (loaded) wardChoices(true);
  });
  load();
})();
