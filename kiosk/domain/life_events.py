"""Life events (転入・転居・転出・出生・おくやみ): questions → the procedures they call for.

The city edits `config/life_events.toml`, not code. An event asks a few plain questions
(yes/no or a choice), and its items say, by simple rules on the answers, which
procedures apply: done here (a catalog procedure: service = queue, form, fee), at another
office (教育委員会, 年金事務所 …) or online. Every item says what to bring.

    events = LifeEventCatalog.from_dict(read_toml(path), catalog)
    visit = plan(events.event("tennyu"), {"employer_insurance": "no", ...})
    visit.procedures          # the catalog procedures done here, in the event's order
    visit.guide               # every chosen item: here / other office / online, bring
    visit.route(catalog)      # stages in the city's route order (住民記録 first …)

The rules language (docs/life-events.md): `when` is a table or a list of tables; a
table holds when every question it names was answered with one of the values given
(a text or a list of texts); a list holds when any of its tables does; no `when` is
"always"; `when = false` "never derived, the resident may add it". Pure data and
validation, no I/O; names are Japanese msgids.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from kiosk.domain.catalog import Catalog, FieldKind, Procedure
from kiosk.domain.catalog import _code as catalog_code
from kiosk.domain.section import Section

YES, NO = "yes", "no"
YESNO_LABELS: tuple[tuple[str, str], ...] = ((YES, "はい"), (NO, "いいえ"))
NOT_OFFERED_OFFICE = "ほかの区役所・本庁"  # a here-procedure this ward does not offer


class QuestionKind(StrEnum):
    YESNO = "yesno"
    CHOICE = "choice"


class Place(StrEnum):
    HERE = "here"      # a catalog procedure at this office (queue, form, fee)
    OTHER = "other"    # another office: 教育委員会, 年金事務所, 法務局 …
    ONLINE = "online"  # a web portal or URL


@dataclass(frozen=True)
class Rule:
    """Any of the conditions; a condition: every named answer is one of its values."""

    any_of: tuple[Mapping[str, tuple[str, ...]], ...] = ()
    never: bool = False  # `when = false`: never derived, the resident may add it

    def holds(self, answers: Mapping[str, str]) -> bool:
        if self.never:
            return False
        if not self.any_of:
            return True
        return any(all(answers.get(k) in vs for k, vs in cond.items()) for cond in self.any_of)

    @property
    def keys(self) -> set[str]:
        return {k for cond in self.any_of for k in cond}


ALWAYS = Rule()
NEVER = Rule(never=True)


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    kind: QuestionKind
    choices: tuple[str, ...] = ()   # the values of a choice question (msgids)
    when: Rule = ALWAYS             # asked only when this holds for earlier answers
    hint: str = ""

    @property
    def values(self) -> tuple[str, ...]:
        return (YES, NO) if self.kind is QuestionKind.YESNO else self.choices

    def options(self) -> tuple[tuple[str, str], ...]:
        """(value, Japanese label) pairs, one big button each."""
        return YESNO_LABELS if self.kind is QuestionKind.YESNO else tuple(
            (c, c) for c in self.choices)


@dataclass(frozen=True)
class EventItem:
    """One thing the event may call for."""

    code: str
    name: str
    place: Place
    bring: tuple[str, ...]
    when: Rule = ALWAYS
    procedure: str | None = None    # place here: the catalog procedure
    office: str | None = None       # place other: where
    url: str | None = None          # place online: the address …
    portal: str | None = None       # … or the portal's name
    note: str = ""
    values: Mapping[str, str | int] = field(default_factory=dict)  # preset, never asked
    copy: Mapping[str, str] = field(default_factory=dict)     # field ← another field's value
    prefill: Mapping[str, str] = field(default_factory=dict)  # asked once, starts as …


@dataclass(frozen=True)
class GuideItem:
    """A line of the 手続き案内票 (non-personal; Japanese msgids)."""

    name: str
    place: Place
    office: str | None
    bring: tuple[str, ...]
    url: str | None
    procedure: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The wire format's guide entry (contract-17)."""
        return {"name": self.name, "place": self.place.value, "office": self.office,
                "bring": list(self.bring), "url": self.url}


@dataclass(frozen=True)
class Stage:
    service: str
    procedures: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "procedures": list(self.procedures)}


@dataclass(frozen=True)
class LifeEvent:
    code: str
    name: str
    questions: tuple[Question, ...]
    items: tuple[EventItem, ...]
    description: str = ""
    route_order: tuple[str, ...] = ()

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(key)

    def item(self, code: str) -> EventItem:
        for i in self.items:
            if i.code == code:
                return i
        raise KeyError(code)

    def asked(self, answers: Mapping[str, str]) -> tuple[Question, ...]:
        """The questions these answers lead to (a question's rule sees earlier answers)."""
        return tuple(q for q in self.questions if q.when.holds(answers))

    def next_question(self, answers: Mapping[str, str]) -> Question | None:
        return next((q for q in self.asked(answers) if q.key not in answers), None)


@dataclass(frozen=True)
class VisitPlan:
    """The items a visit is about: derived from the answers, then edited by the resident.

    `chosen` holds item codes of the event (in the event's order) and, after them, any
    catalog procedure the resident added that is no item of the event (`extras`)."""

    event: LifeEvent
    answers: Mapping[str, str]
    chosen: tuple[str, ...]
    extras: tuple[str, ...] = ()
    not_offered: frozenset[str] = frozenset()  # here-procedures this ward lacks

    def _items(self) -> tuple[EventItem, ...]:
        return tuple(i for i in self.event.items if i.code in self.chosen)

    @property
    def procedures(self) -> tuple[str, ...]:
        """The catalog procedures done at this office, in order, each once."""
        here = [i.procedure for i in self._items()
                if i.procedure is not None and i.procedure not in self.not_offered]
        return tuple(dict.fromkeys([*here, *self.extras]))

    @property
    def guide(self) -> tuple[GuideItem, ...]:
        """Every chosen item with what to bring and where, here/other/online."""
        out = []
        for i in self._items():
            if i.place is Place.HERE and i.procedure in self.not_offered:
                out.append(GuideItem(i.name, Place.OTHER, NOT_OFFERED_OFFICE, i.bring, None,
                                     i.procedure, i.note))
            else:
                out.append(GuideItem(i.name, i.place, i.office, i.bring, i.url or i.portal,
                                     i.procedure, i.note))
        return tuple(out)

    def available(self) -> tuple[EventItem, ...]:
        """The event's items not in the list, for the resident to add."""
        return tuple(i for i in self.event.items if i.code not in self.chosen
                     and i.procedure not in self.not_offered)

    def item_for(self, procedure: str) -> EventItem | None:
        return next((i for i in self._items() if i.procedure == procedure), None)

    def add(self, code: str, catalog: Catalog | None = None) -> VisitPlan:
        """Add an item of the event, or (given the catalog) any catalog procedure."""
        if any(i.code == code for i in self.event.items):
            if code in self.chosen:
                return self
            order = [i.code for i in self.event.items if i.code in self.chosen or i.code == code]
            return replace(self, chosen=tuple(order))
        if catalog is not None and code in catalog.procedures and code not in self.not_offered:
            if code in self.procedures:
                return self
            return replace(self, extras=(*self.extras, code))
        raise KeyError(code)

    def drop(self, code: str) -> VisitPlan:
        """Drop an item (by item code) or an added procedure (by procedure code)."""
        if code in self.extras:
            return replace(self, extras=tuple(c for c in self.extras if c != code))
        found = next((i for i in self._items() if code in (i.code, i.procedure)), None)
        if found is None:
            raise KeyError(code)
        return replace(self, chosen=tuple(c for c in self.chosen if c != found.code))

    def route(self, catalog: Catalog) -> tuple[Stage, ...]:
        return route(self.procedures, catalog, self.event.route_order)


def plan(event: LifeEvent, answers: Mapping[str, str],
         offered: Collection[str] | None = None) -> VisitPlan:
    """The items the answers call for. `offered`: the procedures this ward offers (None:
    all); an item whose procedure is not offered stays in the guide as another office."""
    chosen = tuple(i.code for i in event.items if i.when.holds(answers))
    missing = frozenset(i.procedure for i in event.items if i.procedure is not None
                        and offered is not None and i.procedure not in offered)
    return VisitPlan(event=event, answers=dict(answers), chosen=chosen, not_offered=missing)


def route(procedures: Sequence[str], catalog: Catalog,
          order: Sequence[str] = ()) -> tuple[Stage, ...]:
    """One stage per service, in the city's route order (services it does not name go
    last, in the order of first use); procedures keep their order within a stage."""
    by_service: dict[str, list[str]] = {}
    for code in procedures:
        by_service.setdefault(catalog.procedure(code).service, []).append(code)
    rank = {s: n for n, s in enumerate(order)}
    services = sorted(by_service, key=lambda s: rank.get(s, len(rank)))  # stable
    return tuple(Stage(s, tuple(by_service[s])) for s in services)


@dataclass(frozen=True)
class LifeEventCatalog:
    events: Mapping[str, LifeEvent]
    route_order: tuple[str, ...]
    source: str = field(default="", compare=False)

    def event(self, code: str) -> LifeEvent:
        return self.events[code]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], procedures: Catalog,
                  file: str = "life_events.toml") -> LifeEventCatalog:
        root = Section(data, file)
        root.unknown_keys(("route", "events"))
        order = root.texts("route")
        for code in order:
            if code not in procedures.services:
                raise root.error("route", f"unknown service {code!r} "
                                 f"(defined: {', '.join(procedures.services)})")
        if len(set(order)) != len(order):
            raise root.error("route", "names a service twice")
        events: dict[str, LifeEvent] = {}
        for s in root.sections("events"):
            event = _event(s, procedures, order)
            if event.code in events:
                raise root.error("events", f"code {event.code!r} appears twice")
            events[event.code] = event
        return cls(events=events, route_order=order, source=file)


# --- parsing -----------------------------------------------------------------------------

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
