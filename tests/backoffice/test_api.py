"""Issuing, offline blocks, counter actions and bad input over real HTTP (SQLite server)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from tests.backoffice.conftest import APPLICATION, issue, ok

TZ = ZoneInfo("Asia/Tokyo")


def _queue(server, service="certificates"):
    view = ok(server.session("staff").get(server.api("/wards/kita/queue")))
    return next(s for s in view["services"] if s["code"] == service)


def _free_counter(server, n):
    """Finish whatever counter n has, so call-next can run."""
    s = server.session("staff")
    view = ok(s.get(server.api("/wards/kita/queue")))
    current = next(c for c in view["counters"] if c["number"] == n)["current"]
    if current:
        if current["status"] == "called":
            ok(s.post(server.api(f"/tickets/{current['id']}/start")))
        ok(s.post(server.api(f"/tickets/{current['id']}/complete")))


def _drain(server, n, services):
    """Call everyone waiting in the given services away (cancel them)."""
    s = server.session("staff")
    view = ok(s.get(server.api("/wards/kita/queue")))
    for svc in view["services"]:
        if svc["code"] in services:
            for t in svc["waiting"]:
                ok(s.post(server.api(f"/tickets/{t['id']}/cancel")))


def test_issue_shape_fee_and_status_page(server):
    t = ok(issue(server, procedure="juminhyo", application=APPLICATION, service=None), 201)
    assert t["service"] == "certificates" and t["number"].startswith("A-")
    assert t["fee_yen"] == 600  # 2 copies × 300, computed by the server
    assert t["status"] == "waiting" and t["position"] == t["people_ahead"] + 1
    assert t["estimated_wait_seconds"] > 0
    assert t["status_url"].endswith("/status/" + t["status_token"])
    assert len(t["status_token"]) >= 40
    exempt = {**APPLICATION, "values": {**APPLICATION["values"], "purpose": "年金の手続き"}}
    assert ok(issue(server, procedure="juminhyo", application=exempt), 201)["fee_yen"] == 0
    status = ok(requests.get(server.api(f"/status/{t['status_token']}"), timeout=5))
    assert status["number"] == t["number"] and status["ward_name"] == "北区役所"
    assert "application" not in status and "name" not in status
    r = requests.get(server.api("/status/" + "x" * 43), timeout=5)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    full = ok(server.session("staff").get(server.api(f"/tickets/{t['id']}")))
    assert full["application"]["values"]["copies"] == 2


def test_idempotent_retries_even_across_a_restart(server):
    key = uuid.uuid4().hex
    first = ok(issue(server, key=key), 201)
    again = ok(issue(server, key=key), 200)
    assert again["id"] == first["id"] and again["number"] == first["number"]
    other = issue(server, key=key, service="moving")
    assert other.status_code == 409 and other.json()["error"] == "idempotency_mismatch"
    server.restart()
    assert ok(issue(server, key=key), 200)["id"] == first["id"]
    nxt = ok(issue(server), 201)
    assert int(nxt["number"][2:]) == int(first["number"][2:]) + 1  # no number burned


def test_bad_input_is_refused_clearly_and_changes_nothing(server):
    before = ok(issue(server), 201)
    cases = [
        (dict(service="nonsense"), 422, "unknown_service"),
        (dict(service="family", ward="naka"), 403, "forbidden"),
        (dict(procedure="nope"), 422, "unknown_procedure"),
        (dict(procedure="juminhyo", service="moving"), 422, "validation_error"),
        (dict(procedure="juminhyo", application={**APPLICATION, "values": {
            **APPLICATION["values"], "copies": 99}}), 422, "invalid_application"),
        (dict(procedure="jidoteate", service="insurance", application={
            "procedure": "jidoteate", "identity": "card", "values": {
                "name": "山田", "address": "堺市", "birth_date": "1980-01-02", "sex": "1",
                "my_number": "123456789012"}}), 422, "invalid_application"),
        (dict(priority="vip"), 422, "validation_error"),
        (dict(surprise=1), 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = issue(server, **body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"] == code and r.json()["message"]
    app_error = issue(server, procedure="juminhyo", application={
        **APPLICATION, "values": {**APPLICATION["values"], "copies": 99}}).json()
    assert app_error["details"]["field"] == "copies"
    s = server.session("kiosk")
    headers = {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
    r = s.post(server.api("/tickets"), data=b'{"service": "certif', headers=headers, timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    r = s.post(server.api("/tickets"), data=b'{"service": "' + b"x" * 400_000 + b'"}',
               headers=headers, timeout=5)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    r = s.post(server.api("/tickets"), json={"service": "certificates"}, timeout=5)
    assert r.status_code == 422  # no Idempotency-Key
    r = server.session("staff").post(server.api("/tickets"), json={"service": "x", "ward": "zz"},
                                     headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=5)
    assert r.status_code in (403, 404)
    after = ok(issue(server), 201)
    assert int(after["number"][2:]) == int(before["number"][2:]) + 1


def test_closed_ward_refuses_new_tickets_but_replays_old_ones(server):
    key = uuid.uuid4().hex
    t = ok(issue(server, key=key), 201)
    sup = server.session("supervisor")
    ok(sup.put(server.api("/wards/kita/state"), json={"state": "closed"}))
    try:
        r = issue(server)
        assert r.status_code == 409 and r.json()["error"] == "ward_closed"
        assert "closed" in r.json()["message"]
        assert ok(issue(server, key=key), 200)["id"] == t["id"]
        wards = ok(requests.get(server.api("/wards"), timeout=5))
        assert next(w for w in wards if w["code"] == "kita")["open_now"] is False
    finally:
        ok(sup.put(server.api("/wards/kita/state"), json={"state": "auto"}))
    assert int(ok(issue(server), 201)["number"][2:]) == int(t["number"][2:]) + 1


def test_offline_blocks_come_from_their_own_range_and_merge_by_issue_time(server):
    k = server.session("kiosk")
    today = datetime.now(TZ).date().isoformat()
    first_online = ok(issue(server, service="family"), 201)
    body = {"service": "family", "day": today, "size": 5}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    block = ok(k.post(server.api("/number-blocks"), json=body, headers=key, timeout=5), 201)
    assert block["first"] >= 901 and block["numbers"][0] == f"C-{block['first']}"
    assert block["last"] == block["first"] + 4 and block["prefix"] == "C"
    again = ok(k.post(server.api("/number-blocks"), json=body, headers=key, timeout=5), 200)
    assert again == block  # a retried reservation gets the same block
    r = k.post(server.api("/number-blocks"), json={**body, "size": 6}, headers=key, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "idempotency_mismatch"
    after = ok(issue(server, service="family"), 201)
    assert int(after["number"][2:]) == int(first_online["number"][2:]) + 1  # online stays low

    earlier = (datetime.now(TZ) - timedelta(minutes=1)).isoformat()
    up = dict(service="family", offline={"block_id": block["block_id"],
                                         "number": block["first"] + 1, "issued_at": earlier})
    key = uuid.uuid4().hex
    t = ok(issue(server, key=key, **up), 201)
    assert t["offline"] is True and t["number"] == f"C-{block['first'] + 1:03d}"
    assert ok(issue(server, key=key, **up), 200)["id"] == t["id"]
    waiting = [w["number"] for w in _queue(server, "family")["waiting"]]
    assert waiting.index(t["number"]) < waiting.index(after["number"])  # by issue time

    outside = dict(up, offline={**up["offline"], "number": block["last"] + 1})
    r = issue(server, **outside)
    assert r.status_code == 409 and r.json()["error"] == "number_not_reserved"
    wrong = dict(up, service="moving")
    assert issue(server, **wrong).json()["error"] == "number_not_reserved"
    twice = issue(server, **up)  # same number, a new key: a reused paper number
    assert twice.status_code == 409 and twice.json()["error"] == "duplicate_number"
    staff = issue(server, "staff", ward="kita", **dict(up, offline={
        **up["offline"], "number": block["first"] + 2}))
    assert staff.status_code == 403
    r = k.post(server.api("/number-blocks"), json={"service": "family", "day": "2001-01-01",
                                                   "size": 5}, timeout=5)
    assert r.status_code == 422


def test_call_next_by_priority_then_arrival_across_services(server):
    _free_counter(server, 1)
    _drain(server, 1, {"certificates", "assistance"})
    s = server.session("staff")
    a1 = ok(issue(server, service="certificates"), 201)
    s1 = ok(issue(server, service="assistance"), 201)
    p1 = ok(issue(server, service="certificates", priority="priority"), 201)
    ap = ok(issue(server, service="assistance", priority="appointment"), 201)
    order = []
    for _ in range(4):
        t = ok(s.post(server.api("/wards/kita/counters/1/call-next")))
        assert t["status"] == "called" and t["counter"] == 1
        busy = s.post(server.api("/wards/kita/counters/1/call-next"))
        assert busy.status_code == 409 and busy.json()["error"] == "counter_busy"
        order.append(t["id"])
        ok(s.post(server.api(f"/tickets/{t['id']}/start")))
        ok(s.post(server.api(f"/tickets/{t['id']}/complete")))
    assert order == [ap["id"], p1["id"], a1["id"], s1["id"]]
    assert s.post(server.api("/wards/kita/counters/1/call-next")).status_code == 204
    assert s.post(server.api("/wards/kita/counters/99/call-next")).status_code == 404


def test_transfer_keeps_place_and_no_show_can_be_recalled(server):
    _free_counter(server, 3)
    _drain(server, 3, {"moving", "family"})
    s = server.session("staff")
    old = ok(issue(server, service="certificates"), 201)
    newer = ok(issue(server, service="moving"), 201)
    moved = ok(s.post(server.api(f"/tickets/{old['id']}/transfer"), json={"service": "moving"}))
    assert moved["service"] == "moving" and moved["number"] == old["number"]
    waiting = [w["id"] for w in _queue(server, "moving")["waiting"]]
    assert waiting.index(old["id"]) < waiting.index(newer["id"])  # kept its original time
    r = s.post(server.api(f"/tickets/{old['id']}/transfer"), json={"service": "nonsense"})
    assert r.status_code == 422
    called = ok(s.post(server.api("/wards/kita/counters/3/call-next")))
    assert called["id"] == old["id"]
    ok(s.post(server.api(f"/tickets/{old['id']}/no-show")))
    view = ok(s.get(server.api("/wards/kita/queue")))
    assert old["id"] in [t["id"] for t in view["no_show"]]
    assert next(c for c in view["counters"] if c["number"] == 3)["current"] is None
    back = ok(s.post(server.api(f"/tickets/{old['id']}/recall"), json={"counter": 3}))
    assert back["status"] == "called" and back["recall_count"] == 1
    r = s.post(server.api(f"/tickets/{old['id']}/complete"))
    assert r.status_code == 409 and "needs serving" in r.json()["message"]
    trail = ok(s.get(server.api(f"/tickets/{old['id']}/events")))
    assert [e["type"] for e in trail][-4:] == ["ticket.transferred", "ticket.called",
                                             "ticket.no_show", "ticket.recalled"]


def test_devices_config_heartbeat_and_estimates(server):
    k = server.session("kiosk")
    r = k.get(server.api("/device/config"), timeout=5)
    cfg = ok(r)
    assert cfg["ward"]["code"] == "kita" and cfg["timezone"] == "Asia/Tokyo"
    assert {p["code"] for p in cfg["procedures"]} >= {"juminhyo", "tennyu"}
    assert k.get(server.api("/device/config"),
                 headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    hb = ok(k.post(server.api("/device/heartbeat"), json={
        "status": "degraded", "components": {"paper": "low"}, "outbox_pending": 2}))
    assert hb["config_version"] == cfg["version"]
    devices = ok(server.session("supervisor").get(server.api("/devices")))
    mine = next(d for d in devices if d["name"] == "kiosk-kita-1")
    assert mine["status"] == "degraded" and mine["heartbeat"]["components"]["paper"] == "low"
    est = ok(requests.get(server.api("/wards/kita/estimates"), timeout=5))
    assert {s["code"] for s in est["services"]} == {"certificates", "moving", "family",
                                                   "insurance", "children", "assistance"}
    assert all(s["level"] in ("green", "yellow", "red") for s in est["services"])


def test_form_pdf_for_a_ticket_with_an_application(server):
    t = ok(issue(server, procedure="juminhyo", application=APPLICATION), 201)
    r = server.session("staff").get(server.api(f"/tickets/{t['id']}/form.pdf"), timeout=30)
    if r.status_code == 503:
        assert "kiosk.printing.forms" in r.json()["message"]
    else:
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert r.headers["content-type"] == "application/pdf"
    plain = ok(issue(server), 201)
    assert server.session("staff").get(
        server.api(f"/tickets/{plain['id']}/form.pdf")).status_code == 404


def test_admin_provisions_and_revokes_devices_and_staff(server):
    a = server.session("admin")
    dev = ok(a.post(server.api("/admin/devices"),
                    json={"name": "kiosk-kita-9", "kind": "kiosk", "ward": "kita"}), 201)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {dev['token']}"
    assert ok(s.get(server.api("/auth/me")))["name"] == "kiosk-kita-9"
    assert a.delete(server.api(f"/admin/devices/{dev['id']}")).status_code == 204
    assert s.get(server.api("/auth/me")).status_code == 401
    made = ok(a.post(server.api("/admin/staff"), json={"username": "sato", "role": "staff",
                                                       "ward": "naka"}), 201)
    assert len(made["password"]) >= 12
    r = requests.post(server.api("/auth/login"), json={"username": "sato",
                                                       "password": made["password"]})
    assert ok(r)["ward"] == "naka"
    assert a.post(server.api("/admin/staff"), json={"username": "x y", "role": "staff"}
                  ).status_code == 422


def test_kiosk_finds_and_withdraws_a_ticket_it_never_handed_out(server):
    k = server.session("kiosk")
    key = uuid.uuid4().hex
    assert k.get(server.api(f"/tickets/by-key/{key}")).status_code == 404  # creates nothing
    t = ok(issue(server, key=key), 201)
    assert ok(k.get(server.api(f"/tickets/by-key/{key}")))["id"] == t["id"]
    gone = ok(k.post(server.api(f"/tickets/{t['id']}/cancel"),
                     json={"note": "never handed out by the kiosk"}))
    assert gone["status"] == "cancelled"
    assert ok(k.post(server.api(f"/tickets/{t['id']}/cancel")))["status"] == "cancelled"
    other = ok(issue(server, "staff", ward="kita"), 201)  # not issued by this kiosk
    assert k.post(server.api(f"/tickets/{other['id']}/cancel")).status_code == 403
    assert k.post(server.api(f"/tickets/{other['id']}/hold")).status_code == 403
    naka = requests.Session()
    naka.headers["Authorization"] = "Bearer " + server.device_tokens[("kiosk", "naka")]
    assert naka.get(server.api(f"/tickets/by-key/{key}")).status_code == 404


def test_offline_ticket_keeps_the_kiosk_chosen_status_token(server):
    k = server.session("kiosk")
    today = datetime.now(TZ).date().isoformat()
    block = ok(k.post(server.api("/number-blocks"),
                      json={"service": "insurance", "day": today, "size": 2}), 201)
    token = "k" * 43
    t = ok(issue(server, service="insurance", offline={
        "block_id": block["block_id"], "number": block["first"],
        "issued_at": datetime.now(TZ).isoformat(), "status_token": token}), 201)
    assert t["status_token"] == token and t["status_url"].endswith(token)
    status = ok(requests.get(server.api(f"/status/{token}"), timeout=5))
    assert status["number"] == t["number"] and status["language"] == "ja"
    assert ok(k.get(server.api("/device/config")))["public_url"].startswith("http")


def test_batch_upload_answers_each_item_on_its_own(server):
    key = uuid.uuid4().hex
    items = [{"idempotency_key": key, "service": "moving"},
             {"idempotency_key": uuid.uuid4().hex, "service": "nonsense"},
             {"idempotency_key": key, "service": "moving"},
             {"idempotency_key": uuid.uuid4().hex, "service": "moving", "priority": "priority"}]
    out = ok(server.session("kiosk").post(server.api("/tickets/batch"), json={"items": items}))
    statuses = [r["status"] for r in out["results"]]
    assert statuses == [201, 422, 200, 201]
    assert out["results"][1]["error"] == "unknown_service"
    assert out["results"][0]["ticket"]["id"] == out["results"][2]["ticket"]["id"]
    too_many = {"items": [{"idempotency_key": uuid.uuid4().hex, "service": "moving"}] * 101}
    assert server.session("kiosk").post(server.api("/tickets/batch"),
                                        json=too_many).status_code == 422
