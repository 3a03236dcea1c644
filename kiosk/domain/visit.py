"""A visit with several procedures (a life event): the plan, and its forms as one.

The session (kiosk.domain.session) runs the card, entry and review steps on ONE form:
`VisitForm.combined`, the union of the chosen procedures' fields where a field several
forms share (same key, kind and choices: new_address, move_date, children …) appears
once. Fields an item presets (`values`) or takes from another field (`copy`) are not in
it: nobody is asked for them. Two forms' fields with the same key but a different
meaning (a `reason` with other choices) stay apart, as ``<procedure>.<key>``.

`LifeVisit` holds the visit's state between the steps: the event, the answers so far,
the plan (editable) and, once the plan is accepted, its form. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.domain.application import Application, Authenticity, Identity
from kiosk.domain.catalog import Catalog, FormField, Procedure
from kiosk.domain.life_events import GuideItem, LifeEvent, Question, Stage, VisitPlan, plan


def _same(a: FormField, b: FormField) -> bool:
    return (a.kind, a.source, a.choices) == (b.kind, b.source, b.choices)


@dataclass(frozen=True)
class ReviewForm:
    """One form of the review: its procedure and its rows (label msgid, value)."""

    procedure: Procedure
    rows: tuple[tuple[FormField, str, object], ...]  # field, key in the combined values, value


@dataclass(frozen=True)
class VisitForm:
    procedures: tuple[Procedure, ...]
    combined: Procedure
    keys: Mapping[str, Mapping[str, str]]            # procedure → its field → combined key
    presets: Mapping[str, Mapping[str, str | int]]   # procedure → field → preset value
    prefills: Mapping[str, str]                      # combined key → the key it starts from

    @classmethod
    def build(cls, visit_plan: VisitPlan, catalog: Catalog) -> VisitForm:
        procs = tuple(catalog.procedure(c) for c in visit_plan.procedures)
        fields: dict[str, FormField] = {}
        keys: dict[str, dict[str, str]] = {p.code: {} for p in procs}
        presets: dict[str, Mapping[str, str | int]] = {}
        copies: list[tuple[Procedure, FormField, str]] = []
        prefills: dict[str, str] = {}
        for p in procs:
            item = visit_plan.item_for(p.code)
            presets[p.code] = dict(item.values) if item else {}
            for f in p.fields:
                if f.key in presets[p.code]:
                    continue
                if item is not None and f.key in item.copy:
                    copies.append((p, f, item.copy[f.key]))
                    continue
                keys[p.code][f.key] = _place(fields, p, f)
        for p, f, source in copies:  # second pass: the source may be a later form's field
            keys[p.code][f.key] = source if source in fields else _place(fields, p, f)
        for p in procs:
            item = visit_plan.item_for(p.code)
            for target, source in (item.prefill.items() if item else ()):
                if source in fields and target in keys[p.code]:
                    prefills[keys[p.code][target]] = source
        first = procs[0] if procs else None
        combined = Procedure(
            code=f"visit-{visit_plan.event.code}", name=visit_plan.event.name,
            group=first.group if first else "other",
            service=first.service if first else "", fee_yen=0, fee_per_copy=False,
            signature=any(p.signature for p in procs),
            card_update=any(p.card_update for p in procs), fields=tuple(fields.values()))
        return cls(procedures=procs, combined=combined, keys=keys, presets=presets,
                   prefills=prefills)

    @property
    def needs_my_number(self) -> bool:
        return any(p.needs_my_number for p in self.procedures)

    def defaults(self) -> dict[str, object]:
        return {f.key: f.default for f in self.combined.resident_fields if f.default is not None}

    def apply_prefills(self, values: dict[str, object]) -> None:
        for target, source in self.prefills.items():
            if values.get(target) in (None, "") and values.get(source) not in (None, ""):
                values[target] = values[source]

    def values_for(self, code: str, values: Mapping[str, object]) -> dict[str, object]:
        out: dict[str, object] = {k: values[ck] for k, ck in self.keys[code].items()
                                  if ck in values}
        out.update(self.presets[code])
        return out

    def applications(self, values: Mapping[str, object], identity: Identity, *,
                     language: str, authenticity: Authenticity | None,
                     notes: tuple[str, ...] = ()) -> tuple[Application, ...]:
        return tuple(Application.build(p, self.values_for(p.code, values), identity,
                                       language=language, authenticity=authenticity,
                                       notes=notes) for p in self.procedures)

    def fee(self, values: Mapping[str, object]) -> int:
        total = 0
        for p in self.procedures:
            v = self.values_for(p.code, values)
            copies, purpose = v.get("copies", 1), v.get("purpose")
            total += p.fee(copies if isinstance(copies, int) else 1,
                           purpose if isinstance(purpose, str) else None)
        return total

    def review(self, values: Mapping[str, object]) -> tuple[ReviewForm, ...]:
        """Every form with its values (presets and copies included), for the ONE review."""
        out = []
        for p in self.procedures:
            rows: list[tuple[FormField, str, object]] = []
            for f in p.fields:
                if f.key in self.presets[p.code]:
                    rows.append((f, "", self.presets[p.code][f.key]))
                else:
                    key = self.keys[p.code][f.key]
                    rows.append((f, key, values.get(key)))
            out.append(ReviewForm(p, tuple(rows)))
        return tuple(out)


def _place(fields: dict[str, FormField], p: Procedure, f: FormField) -> str:
    """The combined key of a field: shared when an earlier form has the same field."""
    have = fields.get(f.key)
    if have is None:
        fields[f.key] = f
        return f.key
    if _same(have, f):
        if f.required and not have.required:
            fields[f.key] = replace(have, required=True)
        return f.key
    key = f"{p.code}.{f.key}"
    fields[key] = replace(f, key=key)
    return key


@dataclass(frozen=True)
class TicketStage:
    """A stage of an issued routed ticket, as the ticket screen and slip show it
    (1. 住民記録 B → 2. 保険年金 D …); names are msgids."""

    seq: int
    service: str
    service_name: str
    procedures: tuple[str, ...]
    status: str = "waiting"   # waiting | called | serving | done | skipped
    counter: int | None = None

    @classmethod
    def planned(cls, route: tuple[Stage, ...], catalog: Catalog) -> tuple[TicketStage, ...]:
        """The stages before the back-office answered (an offline ticket)."""
        return tuple(cls(n, st.service, catalog.service(st.service).name, st.procedures)
                     for n, st in enumerate(route, start=1))

    @classmethod
    def from_response(cls, raw: object) -> tuple[TicketStage, ...]:
        """The `route` of a ticket response (contract-17); anything else: no stages."""
        if not isinstance(raw, list):
            return ()
        out: list[TicketStage] = []
        for item in raw:
            if not isinstance(item, Mapping):
                return ()
            procs = item.get("procedures")
            counter = item.get("counter")
            out.append(cls(
                seq=item["seq"] if isinstance(item.get("seq"), int) else len(out) + 1,
                service=str(item.get("service", "")),
                service_name=str(item.get("service_name", "")),
                procedures=tuple(str(p) for p in procs) if isinstance(procs, list) else (),
                status=str(item.get("status", "waiting")),
                counter=counter if isinstance(counter, int) else None))
        return tuple(out)


@dataclass(frozen=True)
class RoutedRequest:
    """The non-ticket-number part of POST /api/v1/tickets for a routed visit."""

    life_event: str
    route: tuple[Stage, ...]
    applications: tuple[Application, ...]
    guide: tuple[GuideItem, ...]

    @property
    def service(self) -> str:
        return self.route[0].service

    @property
    def procedure(self) -> str:
        return self.route[0].procedures[0]

    def to_dict(self) -> dict[str, Any]:
        """The wire format of contract-17 (the kiosk adds what it adds to every ticket)."""
        return {"service": self.service, "procedure": self.procedure,
                "life_event": self.life_event,
                "route": [s.to_dict() for s in self.route],
                "applications": [a.to_dict() for a in self.applications],
                "guide": [g.to_dict() for g in self.guide]}


def interview(event: LifeEvent, answers: Mapping[str, str], catalog: Catalog,
              values: Mapping[str, object], *, identity: Identity = Identity.TYPED,
              language: str = "ja", offered: frozenset[str] | None = None,
              add: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> RoutedRequest:
    """The same questions without the kiosk (a clerk's console, 聞き取り): answers → plan
    (edited by `add`/`drop`) → the forms from `values` keyed like `VisitForm.combined`
    → one routed request. Raises KeyError for an unknown item, ApplicationError for a
    value that does not fit its form."""
    visit_plan = plan(event, answers, offered)
    for code in add:
        visit_plan = visit_plan.add(code, catalog)
    for code in drop:
        visit_plan = visit_plan.drop(code)
    form = VisitForm.build(visit_plan, catalog)
    merged = {**form.defaults(), **values}
    form.apply_prefills(merged)
    notes = ("assistance",) if identity is Identity.ASSISTED else ()
    return RoutedRequest(event.code, visit_plan.route(catalog),
                         form.applications(merged, identity, language=language,
                                           authenticity=None, notes=notes),
                         visit_plan.guide)


@dataclass
class LifeVisit:
    """The state of one life-event visit inside the session."""

    event: LifeEvent
    offered: frozenset[str]
    answers: dict[str, str] = field(default_factory=dict)
    plan: VisitPlan | None = None
    form: VisitForm | None = None

    @property
    def question(self) -> Question | None:
        """The question on screen (None: every question is answered)."""
        return self.event.next_question(self.answers) if self.plan is None else None

    def answer(self, value: str) -> None:
        q = self.question
        if q is None:
            raise ValueError("no question open")
        if value not in q.values:
            raise ValueError(f"{value!r} is no answer of {q.key!r}")
        self.answers[q.key] = value
        # An earlier answer changed: drop answers to questions it no longer leads to.
        asked = {x.key for x in self.event.asked(self.answers)}
        self.answers = {k: v for k, v in self.answers.items() if k in asked}
        if self.event.next_question(self.answers) is None:
            self.plan = plan(self.event, self.answers, self.offered)

    def edit(self, add: bool, code: str, catalog: Catalog) -> None:
        """Add or drop an item of the list (or a procedure of the catalog)."""
        if self.plan is None:
            raise ValueError("no list yet")
        try:
            self.plan = self.plan.add(code, catalog) if add else self.plan.drop(code)
        except KeyError:
            raise ValueError(f"{code!r} cannot be {'added' if add else 'dropped'} "
                             "here") from None

    def answer_none(self) -> None:
        """An event without questions: its plan at once."""
        self.plan = plan(self.event, self.answers, self.offered)

    def step_back(self) -> bool:
        """Back one question (False: there was none to go back to)."""
        self.plan = None
        self.form = None
        asked = [q.key for q in self.event.asked(self.answers) if q.key in self.answers]
        if not asked:
            return False
        del self.answers[asked[-1]]
        return True

    def questions_total(self) -> int:
        return len(self.event.asked(self.answers))

    def questions_done(self) -> int:
        return sum(1 for q in self.event.asked(self.answers) if q.key in self.answers)
