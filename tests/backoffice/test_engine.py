"""The queue engine without HTTP: its typed refusals, their one mapping to HTTP, the one
rule for who may issue, and the ticket.issued event of the PostgreSQL one-statement path."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.engine import errors as refusals
from kiosk.backoffice.engine import issuing
from kiosk.backoffice.errors import STATUS, ApiError, to_http
from kiosk.backoffice.principal import Principal
from tests.backoffice.conftest import admin, kiosk, request


def test_engine_errors_know_no_http() -> None:
    import ast
    from pathlib import Path

    engine = Path(issuing.__file__).parent
    for path in engine.glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        http = {mod for mod in modules if mod.split(".")[0] in ("fastapi", "starlette")
                or mod in ("kiosk.backoffice.errors", "kiosk.backoffice.auth")}
        assert not http, (path.name, http)


@pytest.mark.parametrize(("name", "status"), [
    ("Malformed", 400), ("Unauthenticated", 401), ("Forbidden", 403), ("NotFound", 404),
    ("Conflict", 409), ("Gone", 410), ("Invalid", 422), ("Unavailable", 503)])
def test_each_refusal_maps_to_its_status_and_the_one_error_body(name: str, status: int) -> None:
    error: type[refusals.EngineError] = getattr(refusals, name)
    http = to_http(error("some_code", "said so", field="name"))
    assert http.status == status
    assert http.body() == {"error": "some_code", "message": "said so",
                           "details": {"field": "name"}}
    assert to_http(error("bare", "no details")).body() == {"error": "bare",
                                                          "message": "no details"}


def test_every_engine_error_has_a_status() -> None:
    base = refusals.EngineError
    classes = {c for c in vars(refusals).values()
               if isinstance(c, type) and issubclass(c, base) and c is not base}
    assert classes == set(STATUS)
    passthrough = ApiError(429, "rate_limited", "later")
    assert to_http(passthrough) is passthrough


def test_the_engine_refuses_a_caller_the_issuing_rule_does_not_admit(bo: Any) -> None:
    display = Principal("device", "kita", device_id=999, device_kind="display",
                        device_name="display-kita-1")
    central = Principal("staff", None, username="honcho", role="central")
    for who in (display, central):
        assert not issuing.ISSUERS.admit(who)
        with pytest.raises(refusals.Forbidden) as refused:
            issuing.issue(bo, who, request(), uuid.uuid4().hex, "")
        assert refused.value.message == issuing.ISSUERS.refusal()
    for who in (kiosk(bo), admin()):
        assert issuing.ISSUERS.admit(who)
        ticket, created = issuing.issue(bo, who, request(), uuid.uuid4().hex, "")
        assert created and ticket["status"] == "waiting"


def test_the_issued_event_is_the_audit_trails_shape_with_the_returned_id_and_number(
        bo: Any) -> None:
    ticket, _ = issuing.issue(bo, kiosk(bo), request(priority="priority"), uuid.uuid4().hex,
                              "")
    with bo.engine.connect() as conn:
        stored = conn.execute(select(m.ticket_events.c.data).where(
            m.ticket_events.c.ticket_id == ticket["id"],
            m.ticket_events.c.type == "ticket.issued")).scalar_one()
    event = json.loads(stored)
    assert event["ticket"] == {"id": ticket["id"], "number": ticket["number"],
                               "status": "waiting", "priority": "priority",
                               "service": "certificates", "counter": None, "recall_count": 0}
    assert {k: v for k, v in event.items() if k not in ("ticket", "at")} == {
        "type": "ticket.issued", "ward": "kita", "service": "certificates", "counter": None,
        "data": {}}
