"""Interview mode (issue #17): a clerk runs a life event's questions on the console for a
resident who did not use the kiosk, types the forms and issues the routed ticket — the
same catalog (config/life_events.toml), the same rules, the same issuing as the kiosk.

The clerk's typed record is an application like the kiosk's (identity "typed", noted as
taken down at the counter); fields the 個人番号 fills are never asked here (the 番号法:
the number is written on paper at the counter, never stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.engine import issuing
from kiosk.backoffice.engine.errors import forbidden, invalid
from kiosk.backoffice.engine.lookups import ward_of
from kiosk.backoffice.engine.visits import life_events
from kiosk.backoffice.principal import Principal
from kiosk.domain.application import ApplicationError, Identity
from kiosk.domain.catalog import FieldKind, FieldSource
from kiosk.domain.life_events import LifeEvent, VisitPlan, plan
from kiosk.domain.visit import VisitForm

INTERVIEW_NOTE = "窓口で職員が聞き取り、入力"


def _clerk(bo: Backoffice, principal: Principal, ward: str) -> None:
    if principal.kind != "staff":
        raise forbidden("interview mode is for the staff of the ward; a kiosk issues its "
                        "routed tickets through POST /tickets")
    principal.check_ward(ward_of(bo, ward).code)


def _event(bo: Backoffice, code: str) -> LifeEvent:
    events = life_events(bo).events
    if code not in events:
        raise invalid("unknown_life_event", f"there is no life event {code!r} "
                      f"(events: {', '.join(events)})", field="event")
    return events[code]


def events_json(bo: Backoffice) -> list[dict[str, Any]]:
    return [{"code": e.code, "name": e.name, "description": e.description,
             "questions": len(e.questions)} for e in life_events(bo).events.values()]


def _plan(bo: Backoffice, ward: str, event: LifeEvent, answers: Mapping[str, str],
          add: list[str], drop: list[str]) -> tuple[VisitPlan | None, Any]:
    """The plan once every question asked is answered, else (None, the next question)."""
    for key, value in answers.items():
        asked = {q.key: q for q in event.asked(answers)}
        if key not in asked or value not in asked[key].values:
            raise invalid("validation_error", f"answers.{key}: not a question asked, or "
                          f"{value!r} is no answer of it", field=f"answers.{key}")
    question = event.next_question(answers)
    if question is not None:
        return None, question
    offered = {p.code for p in bo.catalog.procedures.values()
               if p.service in bo.catalog.wards[ward].services}
    visit = plan(event, answers, offered)
    for i, code in enumerate(add):
        try:
            visit = visit.add(code, bo.catalog)
        except KeyError:
            raise invalid("validation_error", f"add[{i}]: {code!r} cannot be added here",
                          field=f"add[{i}]") from None
    for i, code in enumerate(drop):
        try:
            visit = visit.drop(code)
        except KeyError:
            raise invalid("validation_error", f"drop[{i}]: {code!r} is not in the list",
                          field=f"drop[{i}]") from None
    if not visit.procedures:
        raise invalid("validation_error", "nothing is left to do at this office",
                      field="drop")
    return visit, None


def _fields(form: VisitForm) -> list[dict[str, Any]]:
    return [{"key": f.key, "label": f.label, "kind": f.kind.value, "required": f.required,
             "choices": list(f.choices), "default": f.default, "source": f.source.value}
            for f in form.combined.fields
            if f.source is not FieldSource.MY_NUMBER and f.kind is not FieldKind.MY_NUMBER]


def interview(bo: Backoffice, principal: Principal, ward: str, event_code: str,
              answers: Mapping[str, str], add: list[str], drop: list[str]) -> dict[str, Any]:
    """The next question, or the derived list with its route, guide and the fields to type."""
    _clerk(bo, principal, ward)
    event = _event(bo, event_code)
    visit, question = _plan(bo, ward, event, answers, add, drop)
    out: dict[str, Any] = {"event": event.code, "event_name": event.name,
                           "question": None, "procedures": [], "available": [],
                           "route": [], "guide": [], "fields": []}
    if visit is None:
        out["question"] = {"key": question.key, "text": question.text, "hint": question.hint,
                           "options": [{"value": v, "label": label}
                                       for v, label in question.options()]}
        return out
    form = VisitForm.build(visit, bo.catalog)
    out.update(
        procedures=[{"code": c, "name": bo.catalog.procedures[c].name}
                    for c in visit.procedures],
        available=[{"code": i.code, "name": i.name} for i in visit.available()],
        route=[s.to_dict() for s in visit.route(bo.catalog)],
        guide=[g.to_dict() for g in visit.guide], fields=_fields(form))
    return out


def _typed(form: VisitForm, values: Mapping[str, Any]) -> dict[str, object]:
    """The clerk's text inputs as the form's types (counts and years are numbers)."""
    kinds = {f.key: f.kind for f in form.combined.fields}
    out: dict[str, object] = {}
    for key, value in values.items():
        if key not in kinds:
            raise invalid("invalid_application", f"values.{key} is not a field of these "
                          "forms", field=f"values.{key}")
        if value in (None, ""):
            continue
        if kinds[key] in (FieldKind.COUNT, FieldKind.YEAR) and isinstance(value, str):
            if not value.strip().isdigit():
                raise invalid("invalid_application", f"values.{key} must be a whole number",
                              field=f"values.{key}")
            value = int(value)
        out[key] = value
    return out


def issue(bo: Backoffice, principal: Principal, ward: str, event_code: str,
          answers: Mapping[str, str], add: list[str], drop: list[str],
          values: Mapping[str, Any], language: str, key: str,
          base_url: str) -> tuple[dict[str, Any], bool]:
    """Issue the routed ticket of an interview (the same issuing as the kiosk's)."""
    _clerk(bo, principal, ward)
    event = _event(bo, event_code)
    visit, question = _plan(bo, ward, event, answers, add, drop)
    if visit is None:
        raise invalid("validation_error", f"answers.{question.key} is still to be asked",
                      field=f"answers.{question.key}")
    form = VisitForm.build(visit, bo.catalog)
    typed = {**form.defaults(), **_typed(form, values)}
    form.apply_prefills(typed)
    try:
        apps = form.applications(typed, Identity.TYPED, language=language, authenticity=None,
                                 notes=(INTERVIEW_NOTE,))
    except ApplicationError as exc:
        raise invalid("invalid_application", f"values.{exc.key}: {exc}",
                      field=f"values.{exc.key}") from None
    req = issuing.TicketRequest(
        ward=ward, service=None, procedure=None, application=None, priority="normal",
        language=language, route=[s.to_dict() for s in visit.route(bo.catalog)],
        applications=[a.to_dict() for a in apps], guide=[g.to_dict() for g in visit.guide],
        life_event=event.code)
    ticket, created = issuing.issue(bo, principal, req, key, base_url)
    api = "/api/v1"
    ticket["forms"] = [{"procedure": a.procedure, "name": bo.catalog.procedures[a.procedure].name,
                        "url": f"{api}/tickets/{ticket['id']}/form.pdf?procedure={a.procedure}"}
                       for a in apps]
    return ticket, created
