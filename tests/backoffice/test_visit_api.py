"""Routed tickets over real HTTP (issue #17): POST /tickets (on PostgreSQL past the hot
path), the batch / outbox path and an offline upload from a number block all take the
route, answer with it, and refuse a bad one with 422 naming the field."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.backoffice.conftest import APPLICATION, issue, ok

TZ = ZoneInfo("Asia/Tokyo")
ROUTE = [{"service": "moving", "procedures": ["tennyu"]},
         {"service": "certificates", "procedures": ["juminhyo"]}]
GUIDE = [{"name": "年金の手続き", "place": "other", "office": "年金事務所", "bring": [],
          "url": None}]


@pytest.mark.parametrize("db", [None, pytest.param("postgres", marks=pytest.mark.postgres)],
                         ids=["sqlite", "postgres"])
def test_routed_tickets_online_batch_and_offline(backoffice_factory, db):
    server = backoffice_factory.start(db)
    body = {"route": ROUTE, "applications": [APPLICATION], "guide": GUIDE,
            "life_event": "tennyu"}
    key = uuid.uuid4().hex
    for _ in range(2):  # the first one warms the caches the PostgreSQL hot path reads
        t = ok(issue(server, service=None, **body), 201)
    assert t["number"].startswith("B-") and t["stage"] == 1
    assert [s["service"] for s in t["route"]] == ["moving", "certificates"]
    assert t["fee_yen"] == 600  # 住民票 2 copies at 300 yen; 転入 is free
    first = ok(issue(server, key=key, service=None, **body), 201)
    assert ok(issue(server, key=key, service=None, **body), 200)["id"] == first["id"]

    k = server.session("kiosk")
    batch = ok(k.post(server.api("/tickets/batch"), timeout=10, json={"items": [
        {"idempotency_key": uuid.uuid4().hex, **body},
        {"idempotency_key": uuid.uuid4().hex, **body,
         "route": [{"service": "moving", "procedures": ["juminhyo"]}]}]}))
    good, bad = batch["results"]
    assert good["status"] == 201 and good["ticket"]["route"][1]["service"] == "certificates"
    assert bad["status"] == 422 and bad["details"]["field"] == "route[0].procedures[0]"

    today = datetime.now(TZ).date().isoformat()
    block = ok(k.post(server.api("/number-blocks"), json={"service": "moving", "day": today,
                                                         "size": 2}, timeout=10), 201)
    earlier = (datetime.now(TZ) - timedelta(minutes=5)).isoformat()
    up = ok(issue(server, service=None, **body, offline={
        "block_id": block["block_id"], "number": block["first"], "issued_at": earlier}), 201)
    assert up["offline"] and up["number"] == f"B-{block['first']}" and up["stage"] == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"route": [{"service": "moving", "procedures": []}]}, "route.0.procedures"),
    ({"route": [{"service": "nowhere", "procedures": ["tennyu"]}]}, "route[0].service"),
    ({"applications": [{**APPLICATION, "values": {**APPLICATION["values"],
                                                  "name": "1234 5678 9018"}}]},
     "applications[0].values.name"),
    ({"life_event": "wedding"}, "life_event"),
    ({"guide": [{"name": "x", "place": "moon"}]}, "guide.0.place"),
    ({"application": APPLICATION}, "application"),
])
def test_a_bad_routed_ticket_is_a_422_naming_the_field(server, change, field):
    body = {"service": None, "route": ROUTE, "applications": [APPLICATION], **change}
    r = issue(server, **body)
    assert r.status_code == 422, r.text
    answer = r.json()
    named = (answer.get("details") or {}).get("field") or ".".join(
        str(p) for p in answer["details"]["errors"][0]["loc"][1:])
    assert named == field, answer
