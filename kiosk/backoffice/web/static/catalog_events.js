/* The catalog page's life-event editor (a city-wide admin): an event's name, description,
   its questions (key, text, answer kind, choices, when it is asked, hint; added, moved,
   removed) and its items — the procedures in order, each with when it applies, what to
   bring, a note and the form values it presets (`values`), copies (`copy`) or starts
   with (`prefill`) — as life_events.toml holds them (docs/life-events.md). Conditions
   are written one alternative a line, "question = answer | answer; other = answer"
   (a line holds when all its parts do; the item applies when any line holds). Saved
   whole (PUT /life-events/{code}) and validated by the code that reads the file: a
   refusal shows next to the field its key names, nothing typed is lost. */
(function () {
  "use strict";
  const E = window.CatalogEdit;   // catalog_edit.js's helpers
  const P = window.CatalogPage;
  const el = window.Live.el;
  const T = window.Live.T;
  let event = null;          // the code of the life event being edited (E.NEW: a new one)

  // --- conditions and tables as text ----------------------------------------------------

  function ruleText(when) {
    if (when === undefined || when === null || when === false) return "";
    return [].concat(when).map(function (table) {
      return Object.keys(table).map(function (q) { return q + " = " + [].concat(table[q]).join(" | "); }).join("; ");
    }).join("\n");
  }

  function readRule(text) {  // undefined: always
    const tables = E.lines(text.replace(/＝/g, "=")).map(function (line) {
      const table = {};
      line.split(/[;；]/).map(function (s) { return s.trim(); }).filter(Boolean).forEach(function (part) {
        const at = part.indexOf("=");
        const answers = at < 0 ? [] : part.slice(at + 1).split(/[|｜]/).map(function (s) { return s.trim(); }).filter(Boolean);
        table[(at < 0 ? part : part.slice(0, at)).trim()] = answers.length === 1 ? answers[0] : answers;
      });
      return table;
    });
    return tables.length === 0 ? undefined : tables.length === 1 ? tables[0] : tables;
  }

  function pairsText(table) {
    return Object.keys(table || {}).map(function (k) { return k + " = " + table[k]; }).join("\n");
  }

  function readPairs(text, numbers) {   // numbers: the keys whose values are whole numbers
    const out = {};
    E.lines(text.replace(/＝/g, "=")).forEach(function (line) {
      const at = line.indexOf("=");
      const key = (at < 0 ? line : line.slice(0, at)).trim();
      const value = at < 0 ? "" : line.slice(at + 1).trim();
      out[key] = numbers && numbers.indexOf(key) >= 0 && /^\d+$/.test(value) ? Number(value) : value;
    });
    return out;
  }

  function empty(value) {
    return value === undefined || value === "" || (Array.isArray(value) && !value.length)
      || (value !== null && typeof value === "object" && !Array.isArray(value) && !Object.keys(value).length);
  }

  function put(out, key, value) {   // emptied: left out (an empty one the file had stays)
    if (!empty(value)) out[key] = value;
    else if (!empty(out[key])) delete out[key];
  }

  function cell(key, node) {   // an input with the error line of its key
    return el("td", { "data-key": key }, [node, el("span", { class: "field-error error-msg", role: "alert" })]);
  }

  function area(value, label, part, rows) {
    const node = el("textarea", { rows: String(rows || 2), cols: "24", "aria-label": label, "data-part": part });
    node.value = value;
    return node;
  }

  // --- questions --------------------------------------------------------------------------

  function questionRow(q, i, all, kinds, redraw) {
    const at = "questions[" + i + "]";
    const key = el("input", { value: q.key || "", maxlength: "32", "aria-label": T("キー"), "data-part": "key" });
    const text = el("input", { value: q.text || "", maxlength: "120", "aria-label": T("質問文"), "data-part": "text" });
    const kind = E.select(kinds, q.kind || "yesno", T("答え方"));
    kind.dataset.part = "kind";
    const choices = area((q.choices || []).join("\n"), T("選択肢(1行に1つ)"), "choices", 3);
    const when = area(ruleText(q.when), T("この質問をする条件"), "when");
    const hint = el("input", { value: q.hint || "", maxlength: "120", "aria-label": T("補足"), "data-part": "hint" });
    const row = el("tr", { "data-key": at, "data-question": q.key || "", "data-row": "" }, [
      cell(at + ".key", key), cell(at + ".text", text), cell(at + ".kind", kind), cell(at + ".choices", choices),
      cell(at + ".when", when), cell(at + ".hint", hint),
      el("td", {}, E.moveButtons(all, i, redraw).concat([el("span", { class: "field-error error-msg", role: "alert" })]))]);
    row.read = function () {
      const out = Object.assign({}, q, { key: key.value.trim(), text: text.value.trim(), kind: kind.value });
      put(out, "choices", E.lines(choices.value));
      put(out, "when", readRule(when.value));
      put(out, "hint", hint.value.trim());
      return out;
    };
    return row;
  }

  // --- items: the procedures, with their conditions ---------------------------------------

  function itemLabel(state, item) {
    const p = item.procedure && state.catalog.procedures.find(function (x) { return x.code === item.procedure; });
    return p ? T(p.name) : (item.title || item.name || item.code || item.procedure || "—");
  }

  function itemRow(state, item, i, all, redraw) {
    const at = "items[" + i + "]";
    const never = el("input", { type: "checkbox", "data-part": "never", checked: item.when === false ? "checked" : null });
    const when = area(ruleText(item.when), T("対象になる条件"), "when");
    const bring = area((item.bring || []).join("\n"), T("持ち物(1行に1つ)"), "bring", 3);
    const note = el("input", { value: item.note || "", maxlength: "200", "aria-label": T("注意書き"), "data-part": "note" });
    const values = area(pairsText(item.values), T("申請書に入れておく値(項目 = 値)"), "values");
    const copy = area(pairsText(item.copy), T("ほかの項目から写す(項目 = 元の項目)"), "copy");
    const prefill = area(pairsText(item.prefill), T("ほかの項目の値で始める(項目 = 元の項目)"), "prefill");
    function labelled(label, node, part) {
      return el("label", { class: "cat-field", "data-key": at + "." + part }, [label + " ", node,
        el("span", { class: "field-error error-msg", role: "alert" })]);
    }
    const li = el("li", { "data-key": at, "data-procedure": item.procedure || "", "data-row": "" }, [
      el("div", {}, [el("span", { text: itemLabel(state, item) + " " })].concat(E.moveButtons(all, i, redraw),
        [el("span", { class: "field-error error-msg", role: "alert" })])),
      el("div", { class: "cat-item-parts" }, [
        labelled(T("対象になる条件"), when, "when"),
        el("label", { class: "cat-field" }, [never, " " + T("自動では選ばない(住民が追加)")]),
        labelled(T("持ち物(1行に1つ)"), bring, "bring"),
        labelled(T("注意書き"), note, "note"),
        item.procedure ? labelled(T("申請書に入れておく値(項目 = 値)"), values, "values") : null,
        item.procedure ? labelled(T("ほかの項目から写す(項目 = 元の項目)"), copy, "copy") : null,
        item.procedure ? labelled(T("ほかの項目の値で始める(項目 = 元の項目)"), prefill, "prefill") : null])]);
    li.read = function () {
      const out = Object.assign({}, item);
      put(out, "when", never.checked ? false : readRule(when.value));
      put(out, "bring", E.lines(bring.value));
      put(out, "note", note.value.trim());
      if (item.procedure) {
        const p = state.catalog.procedures.find(function (x) { return x.code === item.procedure; });
        const counted = ((p && p.fields) || []).filter(function (f) { return f.kind === "count" || f.kind === "year"; })
          .map(function (f) { return f.key; });
        put(out, "values", readPairs(values.value, counted));
        put(out, "copy", readPairs(copy.value));
        put(out, "prefill", readPairs(prefill.value));
      }
      return out;
    };
    return li;
  }

  // --- the editor ---------------------------------------------------------------------------

  function drawEvent(state) {
    const form = document.getElementById("event-editor");
    const events = (state.life_events && state.life_events.events) || [];
    const e = events.find(function (x) { return x.code === event; }) || { code: "", name: "", items: [] };
    const items = (e.items || []).map(function (x) { return Object.assign({}, x); });
    const questions = (e.questions || []).map(function (x) { return Object.assign({}, x); });
    form.textContent = "";
    const code = el("input", { value: e.code, pattern: "[a-z][a-z0-9_\\-]*", maxlength: "32", required: "required",
                               readonly: e.code ? "readonly" : null });
    const name = el("input", { value: e.name || "", maxlength: "80", required: "required" });
    const description = el("textarea", { rows: "2", cols: "50" });
    description.value = e.description || "";
    const qtable = el("table", { class: "data", id: "question-table" }, [el("thead", {}, [el("tr", {},
      [T("キー"), T("質問文"), T("答え方"), T("選択肢(1行に1つ)"), T("この質問をする条件"), T("補足"), T("操作")]
        .map(function (h) { return el("th", { scope: "col", text: h }); }))]), el("tbody")]);
    const list = el("ol", { id: "event-items", class: "cat-items" });
    const keepQuestions = E.keepTyped(qtable, questions);
    const keepItems = E.keepTyped(list, items);
    function redrawQuestions() {
      const body = qtable.querySelector("tbody");
      body.textContent = "";
      questions.forEach(function (q, i) { body.appendChild(questionRow(q, i, questions, state.question_kinds, redrawQuestions)); });
    }
    function redrawItems() {
      list.textContent = "";
      items.forEach(function (item, i) { list.appendChild(itemRow(state, item, i, items, redrawItems)); });
    }
    redrawQuestions();
    redrawItems();
    const add = el("select", { id: "event-add-procedure", "aria-label": T("追加する手続き") },
      state.catalog.procedures.map(function (p) { return el("option", { value: p.code, text: T(p.name) }); }));
    form.appendChild(el("div", { "data-key": "" }, [el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(E.labelled(T("コード"), code, "code"));
    form.appendChild(E.labelled(T("名称"), name, "name"));
    form.appendChild(E.labelled(T("説明(住民に表示)"), description, "description"));
    form.appendChild(el("div", { "data-key": "questions" }, [el("h3", { text: T("質問") }),
      el("p", { class: "cat-note", text: T("条件は1行に1つ「質問キー = 答え | 答え; 別の質問キー = 答え」と書きます。どれかの行に当てはまれば対象です。はい/いいえの答えは yes / no です。") }),
      qtable, el("span", { class: "field-error error-msg", role: "alert" }),
      el("div", { class: "adm-form" }, [P.button(T("質問を追加"), function () {
        keepQuestions();
        questions.push({ key: "", text: "", kind: "yesno" });
        redrawQuestions();
        return Promise.resolve();
      })])]));
    form.appendChild(el("div", { "data-key": "items" }, [el("h3", { text: T("まとめて行う手続き(この順に案内)") }), list,
      el("span", { class: "field-error error-msg", role: "alert" })]));
    form.appendChild(el("div", { class: "adm-form" }, [add,
      P.button(T("手続きを追加"), function () { keepItems(); items.push({ procedure: add.value }); redrawItems(); return Promise.resolve(); }),
      el("button", { class: "btn", type: "submit", id: "event-save", text: T("保存") }),
      e.code ? P.button(T("このライフイベントを削除"), function () {
        if (!window.confirm(T("ライフイベント「{name}」を削除しますか?", { name: T(e.name) }))) return Promise.resolve();
        event = null;
        return P.change("DELETE", "/life-events/" + e.code);
      }, true) : null]));
    form.onsubmit = function (ev) {
      ev.preventDefault();
      keepQuestions();
      keepItems();
      const body = Object.assign({}, e, { code: code.value.trim(), name: name.value, items: items });
      put(body, "questions", questions);
      put(body, "description", description.value.trim() ? description.value : "");
      event = body.code;
      E.save(form, "PUT", "/life-events/" + encodeURIComponent(body.code), { event: body });
    };
  }

  let shown = null;   // the version the editor shows (a redraw on another would lose typing)
  document.getElementById("event-choose").addEventListener("change", function (ev) { event = ev.target.value; drawEvent(shown); });
  P.addEditor(function (state) {
    if (shown && shown.version === state.version) return;
    shown = state;
    const events = (state.life_events && state.life_events.events) || [];
    if (event === null || (event !== E.NEW && !events.some(function (x) { return x.code === event; }))) {
      event = events.length ? events[0].code : E.NEW;
    }
    E.choices("event-choose", events.map(function (x) { return { value: x.code, label: T(x.name) }; })
      .concat([{ value: E.NEW, label: T("(新しいライフイベント)") }]), event);
    drawEvent(state);
  });
})();
