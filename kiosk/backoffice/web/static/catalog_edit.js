/* The catalog page's editors of what every ward shares (a city-wide admin): a new
   service; a procedure's name, description, fee exemptions and form fields, a new
   procedure (its service, group and fee too) and a procedure's removal. The life events
   are catalog_events.js's, with the helpers this file exports (window.CatalogEdit).
   Each save goes through catalog.js's change(): the server validates it with the code
   that reads the TOML files and stores a new version. A refusal is shown next to the
   field it names (the validation's key, e.g. "procedures[3].fields[1].kind") or next to
   the button (a removal refused: "still in use …") and nothing typed is lost: an editor
   is only redrawn when a new version is in force. */
(function () {
  "use strict";
  const L = window.Live;
  const el = L.el;
  const T = L.T;
  const P = window.CatalogPage;
  const NEW = "";            // the choice "a new one" (procedure, life event)
  let proc = null;           // the code of the procedure being edited (NEW: a new one)
  let added = null;          // a new procedure saved: shown once its version is in force

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
    let key = String(data.key || data.field || "").replace(/^(procedures|events|services)\[\d+\]\.?/, "");
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
    const done = P.change(method, path, body).catch(function (e) { showError(form, e); throw e; });
    P.quiet(done);
    return done;
  }

  /* Rows that read back what was typed (row.read()): kept in `list` before a button of
     the container moves, adds or removes one, so a redraw loses nothing. */
  function keepTyped(container, list) {
    function keep() {
      Array.prototype.forEach.call(container.querySelectorAll("[data-row]"), function (r, i) { list[i] = r.read(); });
    }
    container.addEventListener("click", function (ev) { if (ev.target.tagName === "BUTTON") keep(); }, true);
    return keep;
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
    const row = el("tr", { "data-key": "fields[" + i + "]", "data-field": f.key || "", "data-row": "" }, [
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
    const isNew = proc === NEW;
    // a new procedure starts with the card's name field as the catalog words it
    const cardName = state.catalog.procedures.map(function (x) {
      return (x.fields || []).find(function (f) { return f.key === "name" && f.source === "card"; });
    }).find(Boolean);
    const p = isNew ? { code: "", name: "", fee_yen: 0, fields: cardName ? [cardName] : [] }
      : state.catalog.procedures.find(function (x) { return x.code === proc; });
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
    function redrawFields() {
      const body = table.querySelector("tbody");
      body.textContent = "";
      fields.forEach(function (f, i) {
        body.appendChild(fieldRow(f, i, fields, kinds, sources, function () { redrawFields(); }));
      });
    }
    const keep = keepTyped(table, fields);   // a row's ↑ ↓ 削除 first keeps what was typed
    redrawFields();
    form.appendChild(el("div", { "data-key": "" }, [el("span", { class: "field-error error-msg", role: "alert" })]));
    const fresh = {};   // a new procedure's code, service, group and fee
    if (isNew) {
      fresh.code = el("input", { id: "proc-code", pattern: "[a-z][a-z0-9_\\-]*", maxlength: "32", required: "required" });
      fresh.service = select(state.catalog.services.map(function (x) { return x.code; }), null, T("業務"));
      fresh.group = select(state.procedure_groups, "other", T("分類"));
      fresh.fee = el("input", { type: "number", min: "0", value: "0" });
      fresh.perCopy = el("input", { type: "checkbox" });
      form.appendChild(labelled(T("コード"), fresh.code, "code"));
      form.appendChild(labelled(T("業務"), fresh.service, "service"));
      form.appendChild(labelled(T("分類"), fresh.group, "group"));
      form.appendChild(labelled(T("手数料(円)"), fresh.fee, "fee_yen"));
      form.appendChild(labelled(T("通数ごと"), fresh.perCopy, "fee_per_copy"));
    }
    form.appendChild(labelled(T("名称"), name, "name"));
    form.appendChild(labelled(T("説明(住民に表示)"), description, "description"));
    form.appendChild(el("div", { "data-key": "fee_exempt_purposes" }, [exempt, el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(el("div", { "data-key": "fields" }, [el("h3", { text: T("申請書の項目") }), table,
      el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(el("div", { class: "adm-form" }, [
      P.button(T("項目を追加"), function () { keep(); fields.push({ key: "", label: "", kind: "text", source: "resident" }); redrawFields(); return Promise.resolve(); }),
      el("button", { class: "btn", type: "submit", id: "proc-save", text: isNew ? T("手続きを追加") : T("保存") }),
      isNew ? null : P.removeButton(T("この手続きを削除"), T("手続き「{name}」を削除しますか?", { name: T(p.name) }),
                                  "/procedures/" + p.code)]));
    form.onsubmit = function (ev) {
      ev.preventDefault();
      keep();
      const body = { name: name.value, description: description.value, fields: fields,
        fee_exempt_purposes: Array.prototype.map.call(exempt.querySelectorAll("input:checked"), function (i) { return i.value; }) };
      if (!isNew) { save(form, "PATCH", "/procedures/" + p.code, body); return; }
      Object.assign(body, { code: fresh.code.value.trim(), service: fresh.service.value, group: fresh.group.value,
                            fee_yen: Number(fresh.fee.value || 0), fee_per_copy: fresh.perCopy.checked });
      if (!body.description) delete body.description;
      added = body.code;
      save(form, "POST", "/procedures", body).catch(function () { added = null; });
    };
  }

  // --- a new service (the table of services and its removals: catalog.js) -------------

  function serviceForm() {
    const form = document.getElementById("service-form");
    function input(attrs) { return el("input", attrs); }
    const parts = {
      code: input({ id: "service-code", pattern: "[a-z][a-z0-9_\\-]*", maxlength: "32", required: "required" }),
      prefix: input({ id: "service-prefix", pattern: "[A-Z]", maxlength: "1", size: "2", required: "required" }),
      name: input({ id: "service-name", maxlength: "60", required: "required" }),
      target_wait_minutes: input({ type: "number", min: "1", value: "20" }),
      default_service_minutes: input({ type: "number", min: "0.5", step: "0.5", value: "5" })
    };
    form.appendChild(el("div", { "data-key": "" }, [el("span", { class: "field-error error-msg", role: "alert" })]));
    [["code", T("コード")], ["prefix", T("番号札の文字(A-Z)")], ["name", T("名称")],
     ["target_wait_minutes", T("目標待ち時間(分)")], ["default_service_minutes", T("標準処理時間(分)")]].forEach(function (x) {
      form.appendChild(labelled(x[1], parts[x[0]], x[0]));
    });
    form.appendChild(el("button", { class: "btn", type: "submit", id: "service-add", text: T("業務を追加") }));
    form.onsubmit = function (ev) {
      ev.preventDefault();
      P.quiet(save(form, "POST", "/services", {
        code: parts.code.value.trim(), prefix: parts.prefix.value.trim(), name: parts.name.value,
        target_wait_minutes: Number(parts.target_wait_minutes.value),
        default_service_minutes: Number(parts.default_service_minutes.value) }).then(function () { form.reset(); }));
    };
  }

  function choices(id, options, chosen) {
    const box = document.getElementById(id);
    box.textContent = "";
    options.forEach(function (o) { box.appendChild(el("option", { value: o.value, text: o.label, selected: o.value === chosen ? "selected" : null })); });
  }

  let shown = null;   // the version the editor shows (a redraw on another would lose typing)
  document.getElementById("proc-choose").addEventListener("change", function (ev) { proc = ev.target.value; drawProcedure(shown); });
  P.addEditor(function (state) {
    if (shown && shown.version === state.version) return;
    shown = state;
    function known(code) { return state.catalog.procedures.some(function (x) { return x.code === code; }); }
    if (added && known(added)) { proc = added; added = null; }
    if (proc === null || (proc !== NEW && !known(proc))) proc = (state.catalog.procedures[0] || {}).code || NEW;
    choices("proc-choose", state.catalog.procedures.map(function (p) { return { value: p.code, label: T(p.name) }; })
      .concat([{ value: NEW, label: T("(新しい手続き)") }]), proc);
    drawProcedure(state);
  });
  if (!L.config().ward) serviceForm();
  window.CatalogEdit = {   // for catalog_events.js
    NEW: NEW, lines: lines, labelled: labelled, save: save, select: select, choices: choices,
    moveButtons: moveButtons, keepTyped: keepTyped
  };
})();
