"""Who may read a resident's data, what a read leaves behind, and what is never stored
(issue 15 items 2, 3, 4, 9, 10 and 15's status tokens and idempotency keys) — through
the real HTTP server, on SQLite and on PostgreSQL (where POST /tickets takes the fast path).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kiosk.domain.my_number import check_digit
from tests.backoffice.conftest import APPLICATION, SseReader, issue, make_backoffice_no_prepare, ok
from tests.support.backoffice import BackofficeServer, ServerFactory

pytestmark = pytest.mark.slow

NAME, ADDRESS = APPLICATION["values"]["name"], APPLICATION["values"]["address"]
# A 個人番号 that passes its check digit (made up), and ways a person could type it.
NUMBER = "12345678901" + str(check_digit("12345678901"))
FULL_WIDTH = NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
WRITTEN = [NUMBER, f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}",
           f"{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}", FULL_WIDTH,
           f"{FULL_WIDTH[:4]}－{FULL_WIDTH[4:8]}－{FULL_WIDTH[8:]}",
           f"{NUMBER[:4]}ー{NUMBER[4:8]}ー{NUMBER[8:]}", f"番号は{NUMBER}です"]
INSURANCE = {"procedure": "jidoteate", "identity": "card", "values": {
    "name": "山田 花子", "address": "堺市北区１－２", "birth_date": "1980-01-02", "sex": "2",
    "children": 1, "my_number": {"masked": "********" + NUMBER[-4:], "check_digit_ok": True}}}


def text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BackofficeServer]:
    factory = ServerFactory(tmp_path_factory.mktemp("bo"), request)
    try:
        srv = factory.start(None if request.param == "sqlite" else "postgres")
        admin = srv.session("admin")
        for username, role, ward in (("naka-staff", "staff", "naka"),
                                     ("honcho", "central", None)):
            made = ok(admin.post(srv.api("/admin/staff"), timeout=10, json={
                "username": username, "role": role, "ward": ward}), 201)
            srv.passwords[username] = made["password"]
        ok(issue(srv), 201)  # warms the caches: later kiosk tickets take the fast path on PG
        yield srv
    finally:
        factory.close()


def device(server: BackofficeServer, kind: str, ward: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + server.device_tokens[(kind, ward)]
    return s


def with_application(server: BackofficeServer, key: str | None = None) -> dict[str, Any]:
    return ok(issue(server, key=key, procedure="juminhyo", application=APPLICATION), 201)


def reads(server: BackofficeServer, ticket_id: int, who: str = "supervisor") -> list[Any]:
    events = ok(server.session(who).get(server.api(f"/tickets/{ticket_id}/events"), timeout=10))
    return [e for e in events if e["type"] == "ticket.data_read"]


# --- item 2: kiosks and displays read no application data ------------------------------

def test_only_staff_of_the_ward_read_an_application(server):
    key = uuid.uuid4().hex
    t = with_application(server, key)
    path = f"/tickets/{t['id']}"
    denied = {
        "kiosk": server.session("kiosk"), "display": server.session("display"),
        "kiosk of naka": device(server, "kiosk", "naka"),
        "staff of naka": server.session("naka-staff"), "central": server.session("honcho"),
        "nobody": requests.Session(),
    }
    for who, s in denied.items():
        for url in (server.api(path), f"{server.url}/web/tickets/{t['id']}/application"):
            r = s.get(url, timeout=10)
            assert r.status_code in (401, 403), (who, url, r.status_code)
            assert NAME not in r.text and ADDRESS not in r.text, (who, url)
        r = s.get(server.api(path + "/form.pdf"), timeout=10)
        assert r.status_code in (401, 403), (who, r.status_code)
    assert not reads(server, t["id"])  # a refused read reads nothing and records nothing

    # The issuing kiosk still finds its ticket by key: what its screen shows, nothing more.
    mine = ok(server.session("kiosk").get(server.api(f"/tickets/by-key/{key}"), timeout=10))
    assert mine["id"] == t["id"] and mine["status_url"] and mine["number"] == t["number"]
    assert "application" not in mine and NAME not in text(mine)
    assert device(server, "kiosk", "naka").get(server.api(f"/tickets/by-key/{key}"),
                                               timeout=10).status_code == 404

    got = ok(server.session("staff").get(server.api(path), timeout=10))
    assert got["application"]["values"]["name"] == NAME


# --- item 9: every read of personal data by staff is in the audit trail ------------------

def test_each_staff_read_is_audited_without_the_data(server):
    t = with_application(server)
    staff = server.session("staff")
    before = ok(staff.get(server.api("/wards/kita/queue"), timeout=10))["last_event_id"]
    ok(staff.get(server.api(f"/tickets/{t['id']}"), timeout=10))
    page = ok(staff.get(f"{server.url}/web/tickets/{t['id']}/application", timeout=30))
    assert NAME in text(page)
    pdf = staff.get(server.api(f"/tickets/{t['id']}/form.pdf"), timeout=30)
    assert pdf.status_code in (200, 503), pdf.text  # 503: no PDF renderer on this machine

    got = reads(server, t["id"])  # the supervisor sees who read it, when and how
    expected = ["api", "console"] + (["form.pdf"] if pdf.status_code == 200 else [])
    assert [e["data"]["via"] for e in got] == expected
    assert {e["actor"] for e in got} == {"staff"} and all(e["at"] for e in got)
    assert NAME not in text(got) and ADDRESS not in text(got)

    # A ticket without an application holds nothing personal: reading it records nothing.
    plain = ok(issue(server), 201)
    ok(staff.get(server.api(f"/tickets/{plain['id']}"), timeout=10))
    assert not reads(server, plain["id"])

    # Reads are not pushed to (nor replayed on) a stream: the next replayed event is the
    # ticket issued after them.
    sentinel = ok(issue(server), 201)
    stream = SseReader(server.api(f"/events?ward=kita&last_event_id={before}"),
                       token=server.token("staff"))
    try:
        seen = []
        while True:
            _, event = stream.next()
            seen.append(event["type"])
            if (event.get("ticket") or {}).get("id") == sentinel["id"]:
                break
    finally:
        stream.close()
    assert "ticket.data_read" not in seen, seen


# --- item 10: no-store on every response carrying personal data ----------------------------

N = "/status/{token}/notifications"

def test_no_store_on_every_response_about_a_ticket(server):
    from kiosk.backoffice.api import router as api_router
    from kiosk.backoffice.web.routes import router as web_router
    from tests.backoffice.test_access_matrix import app_routes

    key = uuid.uuid4().hex
    t = with_application(server, key)
    i = t["id"]
    staff, kiosk = server.session("staff"), server.session("kiosk")
    token = t["status_token"]
    pdf = staff.get(server.api(f"/tickets/{i}/form.pdf"), timeout=30)
    from tests.backoffice.test_interview import ANSWERS, VALUES
    from tests.backoffice.test_visit_streams import ROUTE
    r = ok(issue(server, service=None, route=ROUTE, applications=[APPLICATION]), 201)["id"]
    interview_ticket = {"ward": "kita", "event": "tennyu", "answers": ANSWERS,
                        "values": VALUES}
    answers = {
        ("POST", "/api/v1/tickets"): issue(server),
        ("POST", "/api/v1/tickets/batch"): kiosk.post(server.api("/tickets/batch"), json={
            "items": [{"idempotency_key": uuid.uuid4().hex, "service": "moving"}]}),
        ("GET", "/api/v1/tickets/by-key/{key}"): kiosk.get(server.api(f"/tickets/by-key/{key}")),
        ("GET", "/api/v1/tickets/{ticket_id}"): staff.get(server.api(f"/tickets/{i}")),
        ("GET", "/api/v1/tickets/{ticket_id}/events"):
            staff.get(server.api(f"/tickets/{i}/events")),
        ("GET", "/api/v1/tickets/{ticket_id}/form.pdf"): pdf,
        ("GET", "/web/tickets/{ticket_id}/application"):
            staff.get(f"{server.url}/web/tickets/{i}/application"),
        ("GET", "/api/v1/status/{token}"): requests.get(server.api(f"/status/{token}")),
        ("GET", "/status/{token}"): requests.get(f"{server.url}/status/{token}"),
        ("GET", "/status/{token}/view"): requests.get(f"{server.url}/status/{token}/view"),
        ("POST", "/api/v1/tickets/{ticket_id}/hold"):
            staff.post(server.api(f"/tickets/{i}/hold"), json={"note": "書類を取りに"}),
        ("POST", "/api/v1/tickets/{ticket_id}/resume"):
            staff.post(server.api(f"/tickets/{i}/resume")),
        ("POST", "/api/v1/tickets/{ticket_id}/transfer"):
            staff.post(server.api(f"/tickets/{i}/transfer"), json={"service": "moving"}),
        ("POST", "/api/v1/tickets/{ticket_id}/cancel"):
            staff.post(server.api(f"/tickets/{i}/cancel")),
        ("POST", "/api/v1/tickets/{ticket_id}/route/reorder"): staff.post(
            server.api(f"/tickets/{r}/route/reorder"), json={"order": [3, 2]}),
        ("POST", "/api/v1/tickets/{ticket_id}/route/add"): staff.post(
            server.api(f"/tickets/{r}/route/add"),
            json={"service": "certificates", "procedures": ["inkan"]}),
        ("POST", "/api/v1/tickets/{ticket_id}/route/skip"): staff.post(
            server.api(f"/tickets/{r}/route/skip"), json={"seq": 1}),
        ("POST", "/api/v1/tickets/{ticket_id}/route/send-back"): staff.post(
            server.api(f"/tickets/{r}/route/send-back"), json={"seq": 1}),
        ("POST", "/api/v1/interview/tickets"): staff.post(
            server.api("/interview/tickets"), json=interview_ticket,
            headers={"Idempotency-Key": uuid.uuid4().hex}),
        ("POST", "/api/v1/wards/{ward}/counters/{number}/call-next"):
            staff.post(server.api("/wards/kita/counters/1/call-next")),
    }
    for (method, path), r in answers.items():
        assert r.status_code in (200, 201, 204, 503), (path, r.status_code, r.text)
        assert r.headers.get("cache-control") == "no-store", (method, path, r.headers)
    # The phone's notification opt-in (off on this server: the refusal is no-store too,
    # as every error is).
    notices = f"/status/{token}/notifications"
    opt_in = {
        ("GET", f"/api/v1{N}"): requests.get(server.api(notices)),
        ("PUT", f"/api/v1{N}/email"): requests.put(server.api(f"{notices}/email"),
                                                   json={"address": "a@example.jp"}),
        ("PUT", f"/api/v1{N}/push"): requests.put(server.api(f"{notices}/push"), json={}),
        ("DELETE", f"/api/v1{N}/{{channel}}"): requests.delete(server.api(f"{notices}/email")),
    }
    for (method, path), r in opt_in.items():
        assert r.status_code < 500, (path, r.status_code, r.text)
        assert r.headers.get("cache-control") == "no-store", (method, path, r.headers)
    answers.update(opt_in)

    # Every route about one ticket is in the list above (or its siblings are: the other
    # counter actions share one route factory) — a new one must be added to it.
    # (through the included routers: the API is one router per resource, kiosk/backoffice/routes)
    routes = set(app_routes([*api_router.routes, *web_router.routes]))
    about_tickets = {(m, p) for m, p in routes if "/tickets" in p or "{token}" in p}
    actions = {(m, p) for m, p in about_tickets if m == "POST" and p.count("/") == 5
               and p.startswith("/api/v1/tickets/{ticket_id}/")}
    missing = about_tickets - set(answers) - actions - {("GET", "/api/v1/status/{token}/events")}
    assert not missing, f"routes about a ticket without a no-store check: {missing}"


# --- item 3: the back-office itself never stores a 個人番号 ----------------------------

def _refused(r: requests.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "my_number_refused" and body["details"]["field"] == field, body
    assert NUMBER[4:8] not in r.text and FULL_WIDTH[4:8] not in r.text  # never echoed


@pytest.mark.parametrize("written", WRITTEN)
def test_a_my_number_in_any_text_is_refused(server, written):
    values = {**APPLICATION["values"], "name": f"山田 {written}"}
    for who in ("kiosk", "staff"):
        key = uuid.uuid4().hex
        r = issue(server, who, key=key, procedure="juminhyo",
                  application={**APPLICATION, "values": values})
        _refused(r, "application.values.name")
        if who == "kiosk":  # nothing was stored under the key
            assert server.session("kiosk").get(server.api(f"/tickets/by-key/{key}"),
                                               timeout=10).status_code == 404
    _refused(issue(server, procedure="juminhyo",
                   application={**APPLICATION, "notes": ["ok", written]}),
             "application.notes[1]")
    r = server.session("kiosk").post(server.api("/tickets/batch"), timeout=10, json={"items": [
        {"idempotency_key": uuid.uuid4().hex, "procedure": "juminhyo",
         "application": {**APPLICATION, "values": values}}]})
    item = ok(r)["results"][0]
    assert item["status"] == 422 and item["details"]["field"] == "application.values.name"

    t = ok(issue(server, "staff", ward="kita"), 201)
    staff = server.session("staff")
    _refused(staff.post(server.api(f"/tickets/{t['id']}/hold"), json={"note": written},
                        timeout=10), "note")
    _refused(staff.post(server.api(f"/tickets/{t['id']}/transfer"), timeout=10,
                        json={"service": "moving", "note": f"番号 {written}"}), "note")
    assert ok(staff.get(server.api(f"/tickets/{t['id']}"), timeout=10))["status"] == "waiting"
    _refused(server.session("kiosk").post(server.api("/device/heartbeat"), timeout=10,
                                          json={"status": "ok", "message": written}),
             "heartbeat.message")


def test_masked_numbers_and_ordinary_digits(server):
    ok(issue(server, service="insurance", procedure="jidoteate", application=INSURANCE), 201)
    for masked in ("*" + NUMBER[-4:], "*" * 7 + NUMBER[-5:], "********12345", "********abcd",
                   "****" + NUMBER[4:], "************"):
        bad = {**INSURANCE, "values": {**INSURANCE["values"], "my_number": {
            "masked": masked, "check_digit_ok": True}}}
        r = issue(server, service="insurance", procedure="jidoteate", application=bad)
        assert r.status_code == 422, (masked, r.text)
        assert r.json()["details"]["field"] in ("my_number", "application.values.my_number")
    # Twelve digits that fail the check digit, thirteen digits, a phone number: stored.
    wrong = NUMBER[:11] + str((int(NUMBER[11]) + 1) % 10)
    for text in (wrong, "1" + NUMBER, "06-1234-5678", "1-2-3"):
        values = {**APPLICATION["values"], "address": f"堺市北区 {text}"}
        ok(issue(server, procedure="juminhyo", application={**APPLICATION, "values": values}),
           201)


# --- item 4: bad input is a 4xx naming the field, never a 500 ---------------------------------

@pytest.mark.parametrize("identity", ["assisted", "card", "typed"])
def test_an_unknown_field_is_named_not_a_server_error(server, identity):
    application = {"procedure": "juminhyo", "identity": identity, "values": {"zzz": "x"}}
    for who in ("kiosk", "staff"):
        r = issue(server, who, procedure="juminhyo", application=application)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_application"
        assert r.json()["details"]["field"] == "zzz"


# --- item 15: status tokens end with the data; idempotency keys per sender --------------------

def test_the_status_page_ends_with_the_personal_data(server):
    from datetime import timedelta

    from sqlalchemy import update

    from kiosk.backoffice import models as m
    from kiosk.backoffice.clock import utcnow
    from kiosk.backoffice.db import writing
    from kiosk.backoffice.retention import purge

    t = with_application(server)
    plain = ok(issue(server), 201)
    token = t["status_token"]
    assert ok(requests.get(server.api(f"/status/{token}"), timeout=10))["number"] == t["number"]
    assert requests.get(f"{server.url}/status/{token}", timeout=10).status_code == 200
    ok(server.session("kiosk").post(server.api(f"/tickets/{t['id']}/cancel"), timeout=10))

    bo = make_backoffice_no_prepare(server.db_url)
    try:
        purge(bo, now=utcnow() + timedelta(days=1))  # past the day's end: the data goes
        with writing(bo.engine) as conn:  # no application, but issued long ago
            conn.execute(update(m.tickets).where(m.tickets.c.id == plain["id"]).values(
                issued_at=utcnow() - timedelta(days=bo.settings.retention.max_days + 1)))
    finally:
        bo.engine.dispose()
    for ended in (token, plain["status_token"]):
        r = requests.get(server.api(f"/status/{ended}"), timeout=10)
        assert r.status_code == 410 and r.json()["error"] == "ticket_ended"
        assert t["number"] not in r.text
        page = requests.get(f"{server.url}/status/{ended}?lang=en", timeout=10)
        assert page.status_code == 410 and "This ticket has ended" in page.text
        assert t["number"] not in page.text and NAME not in page.text
        assert requests.get(f"{server.url}/status/{ended}?lang=ja", timeout=10
                            ).text.count("受付は終了しました") >= 1
        assert requests.get(f"{server.url}/status/{ended}/view", timeout=10).status_code == 410
        assert requests.get(server.api(f"/status/{ended}/events"), timeout=10
                            ).status_code == 410


def test_idempotency_keys_belong_to_their_sender(server):
    key = "shared-" + uuid.uuid4().hex
    kita = ok(issue(server, "kiosk", key=key, procedure="juminhyo", application=APPLICATION),
              201)
    naka_kiosk = device(server, "kiosk", "naka")
    r = naka_kiosk.post(server.api("/tickets"), json={"service": "certificates"}, timeout=10,
                        headers={"Idempotency-Key": key})
    naka = ok(r, 201)  # its own ticket, not a replay of (or a conflict with) kita's
    assert naka["id"] != kita["id"] and naka["ward"] == "naka"
    assert naka["status_token"] != kita["status_token"]
    by_staff = ok(issue(server, "staff", key=key, ward="kita"), 201)
    assert by_staff["id"] not in (kita["id"], naka["id"])
    # Each sender's retry replays its own ticket.
    again = issue(server, "kiosk", key=key, procedure="juminhyo", application=APPLICATION)
    assert ok(again, 200)["id"] == kita["id"]
    assert ok(naka_kiosk.get(server.api(f"/tickets/by-key/{key}"), timeout=10))["id"] == naka["id"]
    assert ok(issue(server, "staff", key=key, ward="kita"), 200)["id"] == by_staff["id"]


def _keys(url: str) -> dict[str, str]:
    from sqlalchemy import text

    from kiosk.backoffice.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT label, idempotency_key FROM tickets")).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_migration_scopes_existing_keys(db, request, tmp_path):
    from alembic import command
    from sqlalchemy import text

    from kiosk.backoffice.db import alembic_config, make_engine, migrate, writing
    from kiosk.backoffice.seed import create_device, create_staff, sync_catalog
    from kiosk.configfile import load_catalog

    url = (f"sqlite:///{tmp_path}/mig.sqlite3" if db == "sqlite"
           else request.getfixturevalue("postgres_url"))
    migrate(url, "0400_accounts_security")  # the revision before 0410
    engine = make_engine(url, pool_size=1)
    sync_catalog(engine, load_catalog())
    device, _ = create_device(engine, "kiosk-mig", "kiosk", "kita")
    create_staff(engine, "mig-staff", "staff", "kita", "x" * 16)
    long_key = "k" * 128  # the longest key a client may send still fits with its prefix
    with writing(engine) as conn:
        staff_id = conn.execute(text("SELECT id FROM staff WHERE username = 'mig-staff'")
                                ).scalar_one()
        for n, (key, dev, staff) in enumerate([(long_key, device, None),
                                               ("staff-key-1", None, staff_id),
                                               ("nobody-key", None, None)], start=1):
            conn.execute(text(
                "INSERT INTO tickets (ward, origin_service, service, day, number, label, "
                "priority, rank, language, status, queue_at, issued_at, idempotency_key, "
                "request_hash, status_token, device_id, staff_id) VALUES ('kita', "
                "'certificates', 'certificates', '2026-12-01', :n, :label, 'normal', 2, 'ja', "
                "'waiting', '2026-12-01 01:00:00', '2026-12-01 01:00:00', :key, 'h', :token, "
                ":dev, :staff)"), {"n": n, "label": f"A-{n:03d}", "key": key, "dev": dev,
                                   "staff": staff, "token": f"t{n}" * 20})
    engine.dispose()
    migrate(url)
    assert _keys(url) == {"A-001": f"d{device}:{long_key}", "A-002": f"s{staff_id}:staff-key-1",
                          "A-003": "nobody-key"}
    command.downgrade(alembic_config(url), "0400_accounts_security")
    assert _keys(url) == {"A-001": long_key, "A-002": "staff-key-1", "A-003": "nobody-key"}
    migrate(url)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_reading_a_finished_ticket_does_not_put_off_its_purge(db, request, tmp_path):
    """The purge and the status token date a finished ticket by its last change; a read
    (ticket.data_read) is not a change."""
    from dataclasses import replace
    from datetime import timedelta

    from sqlalchemy import update

    from kiosk.backoffice import models as m
    from kiosk.backoffice.clock import utcnow
    from kiosk.backoffice.db import writing
    from kiosk.backoffice.engine import actions, issuing, views
    from kiosk.backoffice.retention import purge
    from tests.backoffice.conftest import admin, kiosk, make_backoffice

    url = (f"sqlite:///{tmp_path}/bo.sqlite3" if db == "sqlite"
           else request.getfixturevalue("postgres_url"))
    bo = make_backoffice(url)
    try:
        bo.settings = replace(bo.settings, retention=replace(bo.settings.retention,
                                                             finished_grace=10))
        req = issuing.TicketRequest(ward="kita", service="certificates", procedure="juminhyo",
                                    application=APPLICATION, priority="normal", language="ja")
        t, _ = issuing.issue(bo, kiosk(bo), req, uuid.uuid4().hex, "")
        actions.act(bo, admin(), t["id"], "cancel")
        with writing(bo.engine) as conn:  # cancelled 20 minutes ago: past the 10 minutes
            conn.execute(update(m.ticket_events).where(m.ticket_events.c.ticket_id == t["id"])
                         .values(at=utcnow() - timedelta(minutes=20)))
        read = views.get_ticket(bo, admin(), t["id"], "")  # read now, audited now
        assert read["application"] is not None
        with bo.engine.connect() as conn:
            row = conn.execute(m.tickets.select().where(m.tickets.c.id == t["id"])).one()
            assert views.status_ended(bo, conn, row)
        assert purge(bo).finished == 1
    finally:
        bo.engine.dispose()
