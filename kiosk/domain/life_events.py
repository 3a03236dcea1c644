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

from kiosk.domain.catalog import Catalog

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
        here = set(self.procedures)
        return tuple(i for i in self.event.items if i.code not in self.chosen
                     and i.procedure not in self.not_offered and i.procedure not in here)

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
        """Validate config/life_events.toml against the procedure catalog (ConfigError
        naming file, key and problem); the parsing is kiosk.domain.life_events_config's."""
        from kiosk.domain.life_events_config import parse  # it builds this module's types
        events, order = parse(data, procedures, file)
        return cls(events=events, route_order=order, source=file)
