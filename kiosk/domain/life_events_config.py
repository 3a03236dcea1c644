"""Reading config/life_events.toml: every key checked, errors naming file, key and
problem (kiosk.domain.errors.ConfigError), like config/catalog.toml. The model it builds
and the rules language are kiosk.domain.life_events'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kiosk.domain.catalog import Catalog, FieldKind, Procedure
from kiosk.domain.catalog import _code as catalog_code
from kiosk.domain.life_events import (
    ALWAYS,
    NEVER,
    EventItem,
    LifeEvent,
    Place,
    Question,
    QuestionKind,
    Rule,
)
from kiosk.domain.section import Section


def parse(data: Mapping[str, Any], catalog: Catalog,
          file: str) -> tuple[dict[str, LifeEvent], tuple[str, ...]]:
    """The events and the route order of config/life_events.toml, validated."""
    root = Section(data, file)
    root.unknown_keys(("route", "events"))
    order = root.texts("route")
    for code in order:
        if code not in catalog.services:
            raise root.error("route", f"unknown service {code!r} "
                             f"(defined: {', '.join(catalog.services)})")
    if len(set(order)) != len(order):
        raise root.error("route", "names a service twice")
    events: dict[str, LifeEvent] = {}
    for s in root.sections("events"):
        event = _event(s, catalog, order)
        if event.code in events:
            raise root.error("events", f"code {event.code!r} appears twice")
        events[event.code] = event
    return events, order


def _code(s: Section, name: str = "code") -> str:
    return catalog_code(s, name)  # one rule for every code of the configuration


def _rule(s: Section, name: str, known: Mapping[str, Question]) -> Rule:
    """`when`: a table or a list of tables {question = value or [values]}."""
    if not s.has(name):
        return ALWAYS
    raw = s.data[name]
    if raw is False:
        return NEVER
    tables = raw if isinstance(raw, list) else [raw]
    if not tables:
        raise s.error(name, "must name at least one condition (leave it out for always)")
    conds: list[Mapping[str, tuple[str, ...]]] = []
    for n, table in enumerate(tables):
        key = f"{name}[{n}]" if isinstance(raw, list) else name
        if not isinstance(table, Mapping) or not table:
            raise s.error(key, "must be a table {question = answer} (or a list of them)")
        cond: dict[str, tuple[str, ...]] = {}
        for q, value in table.items():
            if q not in known:
                raise s.error(f"{key}.{q}", f"names no earlier question of this event "
                              f"(known: {', '.join(known) or 'none'})")
            values = tuple(value) if isinstance(value, list) else (value,)
            if not values or not all(isinstance(v, str) for v in values):
                raise s.error(f"{key}.{q}", "must be an answer or a list of answers (text)")
            bad = [v for v in values if v not in known[q].values]
            if bad:
                raise s.error(f"{key}.{q}", f"{bad[0]!r} is no answer of {q!r} "
                              f"(answers: {', '.join(known[q].values)})")
            cond[q] = values
        conds.append(cond)
    return Rule(tuple(conds))


def _question(s: Section, earlier: Mapping[str, Question]) -> Question:
    s.unknown_keys(("key", "text", "kind", "choices", "when", "hint"))
    key = _code(s, "key")
    kind = QuestionKind(s.text("kind", choices=[k.value for k in QuestionKind]))
    choices = s.texts("choices", ())
    if kind is QuestionKind.CHOICE and len(choices) < 2:
        raise s.error("choices", "a choice question needs at least two choices")
    if kind is QuestionKind.YESNO and choices:
        raise s.error("choices", "a yesno question has no choices (its answers are yes, no)")
    if len(set(choices)) != len(choices):
        raise s.error("choices", "names a choice twice")
    return Question(key=key, text=s.text("text"), kind=kind, choices=choices,
                    when=_rule(s, "when", earlier), hint=s.text("hint", ""))


def _table(s: Section, name: str) -> Mapping[str, Any]:
    if not s.has(name):
        return {}
    value = s.data[name]
    if not isinstance(value, Mapping):
        raise s.error(name, f"must be a table {{field = …}}, got {value!r}")
    return value


def _item(s: Section, catalog: Catalog, questions: Mapping[str, Question]) -> EventItem:
    s.unknown_keys(("code", "name", "place", "procedure", "office", "url", "portal", "bring",
                    "when", "note", "values", "copy", "prefill"))
    place = Place(s.text("place", Place.HERE.value, choices=[p.value for p in Place]))
    procedure = s.optional_text("procedure")
    proc: Procedure | None = None
    for key, wanted in (("procedure", Place.HERE), ("office", Place.OTHER)):
        if s.has(key) != (place is wanted):
            raise s.error(key, f"is required for place {wanted.value} and only for it")
    if place is Place.ONLINE and not (s.has("url") or s.has("portal")):
        raise s.error("url", "an online item needs a url or a portal name")
    if place is not Place.ONLINE:
        for key in ("url", "portal"):
            if s.has(key):
                raise s.error(key, "only an online item has a url or portal")
    url = s.optional_text("url")
    if url is not None and not url.startswith("https://"):
        raise s.error("url", f"must start with https://, got {url!r}")
    if procedure is not None:
        if procedure not in catalog.procedures:
            raise s.error("procedure", f"unknown procedure {procedure!r} "
                          f"(defined: {', '.join(catalog.procedures)})")
        proc = catalog.procedure(procedure)
    code = _code(s) if s.has("code") or proc is None else proc.code
    name = s.text("name", proc.name if proc is not None else "")
    if not name:
        raise s.error("name", "is required for an item done elsewhere or online")
    values, copy, prefill = _table(s, "values"), _table(s, "copy"), _table(s, "prefill")
    if (values or copy or prefill) and proc is None:
        raise s.error("values" if values else "copy" if copy else "prefill",
                      "only an item done here (with a procedure) has form values")
    checked: dict[str, str | int] = {}
    if proc is not None:
        fields = {f.key: f for f in proc.fields}
        for knob, table in (("values", values), ("copy", copy), ("prefill", prefill)):
            for key, value in table.items():
                f = fields.get(key)
                if f is None:
                    raise s.error(f"{knob}.{key}", f"is no field of {proc.code}")
                if knob == "values":
                    checked[key] = _preset(s, f"{knob}.{key}", f, value)
                elif not isinstance(value, str) or not value:
                    raise s.error(f"{knob}.{key}", "must name a field (text)")
    return EventItem(
        code=code, name=name, place=place, bring=s.texts("bring", ()),
        when=_rule(s, "when", questions), procedure=procedure,
        office=s.optional_text("office"), url=url, portal=s.optional_text("portal"),
        note=s.text("note", ""), values=checked, copy=dict(copy), prefill=dict(prefill))


def _preset(s: Section, key: str, f: Any, value: object) -> str | int:
    if f.kind in (FieldKind.COUNT, FieldKind.YEAR):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise s.error(key, f"must be a whole number ≥ 1, got {value!r}")
        return value
    if f.kind not in (FieldKind.CHOICE, FieldKind.TEXT):
        raise s.error(key, f"a {f.kind.value} field cannot be preset")
    if not isinstance(value, str) or not value:
        raise s.error(key, f"must be text, got {value!r}")
    if f.kind is FieldKind.CHOICE and value not in f.choices:
        raise s.error(key, f"{value!r} is not among the choices ({', '.join(f.choices)})")
    return value


def _event(s: Section, catalog: Catalog, order: tuple[str, ...]) -> LifeEvent:
    s.unknown_keys(("code", "name", "description", "questions", "items"))
    questions: dict[str, Question] = {}
    for q in s.sections("questions", required=False):
        question = _question(q, questions)
        if question.key in questions:
            raise s.error("questions", f"key {question.key!r} appears twice")
        questions[question.key] = question
    items: list[EventItem] = []
    for i in s.sections("items"):
        item = _item(i, catalog, questions)
        if any(x.code == item.code for x in items):
            raise i.error("code", f"item {item.code!r} appears twice in this event "
                          "(give one of them its own code)")
        items.append(item)
    _check_links(s, items, catalog)
    return LifeEvent(code=_code(s), name=s.text("name"), questions=tuple(questions.values()),
                     items=tuple(items), description=s.text("description", ""),
                     route_order=order)


_TEXTS = {FieldKind.TEXT, FieldKind.NAME, FieldKind.KANA, FieldKind.ADDRESS}


def _check_links(s: Section, items: Sequence[EventItem], catalog: Catalog) -> None:
    """copy/prefill name a field of another procedure of the event, of the same kind."""
    kinds: dict[str, set[FieldKind]] = {}
    for item in items:
        if item.procedure is not None:
            for f in catalog.procedure(item.procedure).fields:
                kinds.setdefault(f.key, set()).add(f.kind)
    for n, item in enumerate(items):
        if item.procedure is None:
            continue
        proc = catalog.procedure(item.procedure)
        for knob, table in (("copy", item.copy), ("prefill", item.prefill)):
            for key, source in table.items():
                wanted = proc.field(key).kind
                have = kinds.get(source, set())
                if wanted not in have and not (knob == "prefill" and wanted is FieldKind.TEXT
                                               and have & _TEXTS):
                    raise s.error(f"items[{n}].{knob}.{key}",
                                  f"{source!r} is no {wanted.value} field of this event's "
                                  "procedures")
