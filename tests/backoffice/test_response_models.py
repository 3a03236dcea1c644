"""Every JSON route declares a response model, and the models refuse unlisted keys: a key
added to what the engine returns cannot reach a caller unnoticed (docs/api.md)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kiosk.backoffice import schemas

# Answers that are not JSON objects: streams, the PDF form, CSV, 204s, pages and redirects.
NO_MODEL = {
    "/api/v1/events", "/api/v1/status/{token}/events", "/api/v1/tickets/{ticket_id}/form.pdf",
    "/api/v1/auth/logout", "/api/v1/admin/devices/{device_id}",
    "/api/v1/admin/payment-terminals/{terminal_id}", "/api/v1/central/period.csv",
    "/api/v1/wards/{ward}/announcements/{number}",   # Ogg Vorbis audio
    "/api/v1/devices/health/stream",   # SSE: each `devices` message is the WardDevices model
    "/api/v1/wards/{ward}/floor/stream",             # SSE
    "/api/v1/device/bundles/{version}",              # a RAUC bundle (bytes, Range)
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kiosk.backoffice.app import backoffice_from, create_app

    bo = backoffice_from(f"sqlite:///{tmp_path_factory.mktemp('models')}/bo.sqlite3")
    yield create_app(bo)
    bo.engine.dispose()


def test_every_json_route_declares_a_response_model(app):
    doc = app.openapi()
    without = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            ok = [r for code, r in op["responses"].items() if code in ("200", "201")]
            schema = ok[0].get("content", {}).get("application/json", {}).get("schema") \
                if ok else None
            named = schema and "$ref" in (schema.get("items") or schema)
            if path not in NO_MODEL and not named:
                without.append(f"{method.upper()} {path}")
    assert without == []
    assert len(doc["paths"]) > 40


def test_a_key_the_models_do_not_list_is_refused():
    good = {"status": "ok", "database": "ok", "version": "1"}
    assert schemas.Health.model_validate(good).model_dump() == good
    with pytest.raises(ValidationError):
        schemas.Health.model_validate({**good, "application": {"name": "山田"}})


def test_the_openapi_document_describes_the_answers(app):
    doc = app.openapi()
    ticket = doc["paths"]["/api/v1/tickets/{ticket_id}"]["get"]["responses"]["200"]
    ref = ticket["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert doc["components"]["schemas"][ref]["additionalProperties"] is False
