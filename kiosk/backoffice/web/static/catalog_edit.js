/* The catalog page's editors of what every ward shares (a city-wide admin): a procedure's
   name, description, fee exemptions and form fields, and the life events (bundles of
   procedures: their name, description and the procedures in order; added and removed).
   Each save goes through catalog.js's change(): the server validates it with the code
   that reads the TOML files and stores a new version. A refusal is shown next to the
   field it names (the validation's key, e.g. "procedures[3].fields[1].kind") and nothing
   typed is lost: the editor is only redrawn when a new version is in force. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const T = L.T;
  const P = window.CatalogPage;
  const NEW = "";            // the life-event choice "a new one"
  let proc = null;           // the code of the procedure being edited
  let event = null;          // the code of the life event being edited (NEW: a new one)

  function lines(text) { return text.split("\n").map(function (s) { return s.trim(); }).filter(Boolean); }

  function labelled(label, input, key) {   // one input with the error line of its key
    return el("label", { class: "cat-field", "data-key": key }, [label + " ", input,
      el("span", { class: "field-error error-msg", role: "alert" })]);
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (s) { s.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
  }

  /* The refusal next to the field its key names: "procedures[3].fields[1].kind" → the
     element of data-key "fields[1].kind", else of "fields[1]", else of "fields", else
     the editor's own line. */
  function showError(form, e) {
    const data = (e.data && e.data.details) || {};
    let key = String(data.key || data.field || "").replace(/^(procedures|events)\[\d+\]\.?/, "");
    let spot = null;
    while (key && !spot) {
      spot = form.querySelector("[data-key='" + key.replace(/'/g, "") + "']");
      key = key.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    }
    spot = spot || form.querySelector("[data-key='']");
    const line = spot.querySelector(".field-error");
    line.textContent = e.message;
    const input = spot.querySelector("input, select, textarea");
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  function save(form, method, path, body) {
    clearErrors(form);
    P.quiet(P.change(method, path, body).catch(function (e) { showError(form, e); throw e; }));
  }

  function select(options, value, label) {
    return el("select", { "aria-label": label }, options.map(function (o) {
      return el("option", { value: o, text: o, selected: o === value ? "selected" : null });
    }));
  }

  function moveButtons(list, i, redraw) {   // ↑ ↓ 削除 of row i of a list being edited
    function move(to) {
      if (to < 0 || to >= list.length) return Promise.resolve();
      const item = list.splice(i, 1)[0];
      list.splice(to, 0, item);
      redraw();
      return Promise.resolve();
    }
    return [P.button("↑", function () { return move(i - 1); }),
            P.button("↓", function () { return move(i + 1); }),
            P.button(T("削除"), function () { list.splice(i, 1); redraw(); return Promise.resolve(); }, true)];
  }

  // --- a procedure: name, description, fee exemptions, form fields --------------------

  function fieldRow(f, i, all, kinds, sources, redraw) {
    function input(name, attrs) {
      const node = el("input", Object.assign({ "aria-label": name }, attrs || {}));
      return node;
    }
    const key = input(T("項目キー"), { value: f.key || "", "data-part": "key", maxlength: "40" });
    const label = input(T("表示名"), { value: f.label || "", "data-part": "label", maxlength: "80" });
    const kind = select(kinds, f.kind || "text", T("種類"));
    kind.dataset.part = "kind";
    const source = select(sources, f.source || "resident", T("入力元"));
    source.dataset.part = "source";
    const required = input(T("必須"), { type: "checkbox", "data-part": "required",
                                        checked: f.required === false ? null : "checked" });
    const choices = el("textarea", { rows: "3", cols: "16", "aria-label": T("選択肢(1行に1つ)"), "data-part": "choices" });
    choices.value = (f.choices || []).join("\n");
    const dflt = input(T("既定値"), { value: f.default === undefined ? "" : [].concat(f.default).join(", "), "data-part": "default" });
    const max = input(T("最大"), { type: "number", min: "1", value: f.max === undefined ? "" : String(f.max), "data-part": "max" });
    function cell(part, node) {
      return el("td", { "data-key": "fields[" + i + "]." + part }, [node, el("span", { class: "field-error error-msg", role: "alert" })]);
    }
    // edits typed here are kept in `all` before a row moves (so nothing typed is lost)
    const row = el("tr", { "data-key": "fields[" + i + "]", "data-field": f.key || "" }, [
      cell("key", key), cell("label", label), cell("kind", kind), cell("source", source),
      cell("required", required), cell("choices", choices), cell("default", dflt), cell("max", max),
      el("td", {}, moveButtons(all, i, function () { redraw(); }).concat(
        [el("span", { class: "field-error error-msg", role: "alert" })]))]);
    row.read = function () {
      const out = { key: key.value.trim(), label: label.value.trim(), kind: kind.value, source: source.value,
                    required: required.checked };
      const options = lines(choices.value);
      if (options.length) out.choices = options;
      const d = dflt.value.trim();
      if (d) {
        if (kind.value === "flags") out.default = d.split(/\s*[,、]\s*/).filter(Boolean);
        else if (kind.value === "count" || kind.value === "year") out.default = Number(d);
        else out.default = d;
      }
      if (max.value !== "") out.max = Number(max.value);
      return out;
    };
    return row;
  }

  function drawProcedure(state) {
    const form = document.getElementById("proc-editor");
    const p = state.catalog.procedures.find(function (x) { return x.code === proc; });
    form.textContent = "";
    if (!p) return;
    const fields = (p.fields || []).map(function (f) { return Object.assign({}, f); });
    const name = el("input", { value: p.name || "", maxlength: "80", required: "required" });
    const description = el("textarea", { rows: "3", cols: "50", maxlength: "400" });
    description.value = p.description || "";
    const purpose = fields.find(function (f) { return f.key === "purpose"; });
    const exempt = el("fieldset", { class: "cat-services", id: "proc-exempt" }, [el("legend", { text: T("手数料が免除される目的") })]);
    ((purpose && purpose.choices) || []).forEach(function (c) {
      exempt.appendChild(el("label", {}, [el("input", { type: "checkbox", value: c,
        checked: (p.fee_exempt_purposes || []).indexOf(c) >= 0 ? "checked" : null }), document.createTextNode(" " + c)]));
    });
    if (!purpose) exempt.appendChild(el("span", { class: "cat-note", text: T("申請書に目的(purpose)の項目がないため、免除はありません") }));
    const table = el("table", { class: "data", id: "field-table" }, [el("thead", {}, [el("tr", {},
      [T("項目キー"), T("表示名"), T("種類"), T("入力元"), T("必須"), T("選択肢(1行に1つ)"), T("既定値"), T("最大"), T("操作")]
        .map(function (h) { return el("th", { scope: "col", text: h }); }))]), el("tbody")]);
    const kinds = state.field_kinds;
    const sources = state.field_sources;
    function rows() { return Array.prototype.slice.call(table.querySelectorAll("tbody tr")); }
    function keep() { rows().forEach(function (r, i) { fields[i] = r.read(); }); }
    function redrawFields() {
      const body = table.querySelector("tbody");
      body.textContent = "";
      fields.forEach(function (f, i) {
        body.appendChild(fieldRow(f, i, fields, kinds, sources, function () { redrawFields(); }));
      });
    }
    // a row's ↑ ↓ 削除 first keeps what was typed in every row
    table.addEventListener("click", function (ev) { if (ev.target.tagName === "BUTTON") keep(); }, true);
    redrawFields();
    form.appendChild(el("div", { "data-key": "" }, [el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(labelled(T("名称"), name, "name"));
    form.appendChild(labelled(T("説明(住民に表示)"), description, "description"));
    form.appendChild(el("div", { "data-key": "fee_exempt_purposes" }, [exempt, el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(el("div", { "data-key": "fields" }, [el("h3", { text: T("申請書の項目") }), table,
      el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(el("div", { class: "adm-form" }, [
      P.button(T("項目を追加"), function () { keep(); fields.push({ key: "", label: "", kind: "text", source: "resident" }); redrawFields(); return Promise.resolve(); }),
      el("button", { class: "btn", type: "submit", id: "proc-save", text: T("保存") })]));
    form.onsubmit = function (ev) {
      ev.preventDefault();
      keep();
      save(form, "PATCH", "/procedures/" + p.code, {
        name: name.value, description: description.value, fields: fields,
        fee_exempt_purposes: Array.prototype.map.call(exempt.querySelectorAll("input:checked"), function (i) { return i.value; }) });
    };
  }

  // --- life events: name, description, the procedures in order; add and remove ---------

  function itemLabel(state, item) {
    const p = item.procedure && state.catalog.procedures.find(function (x) { return x.code === item.procedure; });
    return p ? T(p.name) : (item.title || item.name || item.code || item.procedure || "—");
  }

  function drawEvent(state) {
    const form = document.getElementById("event-editor");
    const events = (state.life_events && state.life_events.events) || [];
    const e = events.find(function (x) { return x.code === event; }) || { code: "", name: "", items: [] };
    const items = (e.items || []).map(function (x) { return Object.assign({}, x); });
    form.textContent = "";
    const code = el("input", { value: e.code, pattern: "[a-z][a-z0-9_\\-]*", maxlength: "32", required: "required",
                               readonly: e.code ? "readonly" : null });
    const name = el("input", { value: e.name || "", maxlength: "80", required: "required" });
    const description = el("textarea", { rows: "2", cols: "50" });
    description.value = e.description || "";
    const list = el("ol", { id: "event-items", class: "cat-items" });
    function redrawItems() {
      list.textContent = "";
      items.forEach(function (item, i) {
        list.appendChild(el("li", { "data-key": "items[" + i + "]", "data-procedure": item.procedure || "" },
          [el("span", { text: itemLabel(state, item) + " " })].concat(moveButtons(items, i, redrawItems),
            [el("span", { class: "field-error error-msg", role: "alert" })])));
      });
    }
    redrawItems();
    const add = el("select", { id: "event-add-procedure", "aria-label": T("追加する手続き") },
      state.catalog.procedures.map(function (p) { return el("option", { value: p.code, text: T(p.name) }); }));
    form.appendChild(el("div", { "data-key": "" }, [el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(labelled(T("コード"), code, "code"));
    form.appendChild(labelled(T("名称"), name, "name"));
    form.appendChild(labelled(T("説明(住民に表示)"), description, "description"));
    form.appendChild(el("div", { "data-key": "items" }, [el("h3", { text: T("まとめて行う手続き(この順に案内)") }), list,
      el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(el("div", { class: "adm-form" }, [add,
      P.button(T("手続きを追加"), function () { items.push({ procedure: add.value }); redrawItems(); return Promise.resolve(); }),
      el("button", { class: "btn", type: "submit", id: "event-save", text: T("保存") }),
      e.code ? P.button(T("このライフイベントを削除"), function () {
        if (!window.confirm(T("ライフイベント「{name}」を削除しますか?", { name: T(e.name) }))) return Promise.resolve();
        event = null;
        return P.change("DELETE", "/life-events/" + e.code);
      }, true) : null]));
    form.onsubmit = function (ev) {
      ev.preventDefault();
      const body = Object.assign({}, e, { code: code.value.trim(), name: name.value, items: items });
      if (description.value.trim()) body.description = description.value; else delete body.description;
      event = body.code;
      save(form, "PUT", "/life-events/" + encodeURIComponent(body.code), { event: body });
    };
  }

  function choices(id, options, chosen) {
    const box = document.getElementById(id);
    box.textContent = "";
    options.forEach(function (o) { box.appendChild(el("option", { value: o.value, text: o.label, selected: o.value === chosen ? "selected" : null })); });
  }

  let shown = null;   // the version the editors show (a redraw on another would lose typing)
  document.getElementById("proc-choose").addEventListener("change", function (ev) { proc = ev.target.value; drawProcedure(shown); });
  document.getElementById("event-choose").addEventListener("change", function (ev) { event = ev.target.value; drawEvent(shown); });
  P.addEditor(function (state) {
    if (shown && shown.version === state.version) return;
    shown = state;
    proc = proc || (state.catalog.procedures[0] || {}).code;
    choices("proc-choose", state.catalog.procedures.map(function (p) { return { value: p.code, label: T(p.name) }; }), proc);
    drawProcedure(state);
    const events = (state.life_events && state.life_events.events) || [];
    if (event === null || (event !== NEW && !events.some(function (x) { return x.code === event; }))) {
      event = events.length ? events[0].code : NEW;
    }
    choices("event-choose", events.map(function (x) { return { value: x.code, label: T(x.name) }; })
      .concat([{ value: NEW, label: T("(新しいライフイベント)") }]), event);
    drawEvent(state);
  });
})();
