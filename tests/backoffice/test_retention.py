"""Personal data is purged, provably: a day of tickets in every state on SQLite and
PostgreSQL, then the purge; afterwards no value of a purged resident is left in any column
of any table, open tickets keep theirs, the audit trail says what happened, the statistics
are unchanged, and purging again changes nothing. Also: the server's own periodic purge
(its clock driven forward), the staff views saying "purged", the command and its dry run,
the migration up and down."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from kiosk.backoffice import clock, retention
from kiosk.backoffice import models as m
from kiosk.backoffice.db import (
    alembic_config,
    make_engine,
    migrate,
    reading,
    safe_error,
    writing,
)
from kiosk.backoffice.engine import actions, issuing, lookups, offline_blocks, views
from tests.backoffice.conftest import admin, kiosk, make_backoffice, request

REPO = Path(__file__).resolve().parents[2]
T = m.tickets
FINISHED = ("done", "cancelled", "no_show")
OPEN = ("waiting", "held", "called", "serving")


def _resident(i: int, procedure: str) -> dict[str, Any]:
    """An application with values found nowhere else (so a hit in a scan is a leak)."""
    values: dict[str, Any] = {"name": f"検証山田{i:03d}太郎",
                              "address": f"堺市北区検証町{i}-{i + 7}",
                              "birth_date": date(1931 + i, 1 + i % 12, 1 + i % 28).isoformat()}
    if procedure == "juminhyo":
        values.update(copies=1, purpose="本人確認")
    elif procedure == "koseki":
        values.update(honseki=f"熊本市中央区本籍町{i}番地", hittosha=f"筆頭者{i:03d}花子",
                      kind="謄本", copies=1)
    elif procedure == "tennyu":
        values.update(sex="2", new_address=f"堺市北区新住所{i}丁目", move_date="2026-11-01",
                      householder=f"世帯主{i:03d}次郎", relationship="本人")
    return {"procedure": procedure, "identity": "card", "values": values}


def _personal(app: dict[str, Any]) -> list[str]:
    return [v for k, v in app["values"].items()
            if isinstance(v, str) and k not in ("purpose", "kind", "sex", "relationship",
                                                "move_date")]


def _application(bo: Any, i: int, procedure: str) -> dict[str, Any]:
    """`_resident` with each choice field set to a real choice of the catalog's form."""
    app = _resident(i, procedure)
    for f in bo.catalog.procedures[procedure].fields:
        if f.choices and f.key in app["values"]:
            app["values"][f.key] = f.choices[0]
    return app


def _sqlite_bo(tmp_path: Path, **retention_settings: Any) -> Any:
    bo = make_backoffice(f"sqlite:///{tmp_path}/bo.sqlite3")
    bo.settings = replace(bo.settings, retention=replace(bo.settings.retention,
                                                         **retention_settings))
    return bo


def _issue(bo: Any, i: int, procedure: str, **kw: Any) -> tuple[int, list[str], str]:
    app = _application(bo, i, procedure)
    p = bo.catalog.procedures[procedure]
    key = uuid.uuid4().hex
    req = issuing.TicketRequest(ward="kita", service=p.service, procedure=procedure,
                                application=app, priority="normal", language="ja", **kw)
    ticket, created = issuing.issue(bo, kiosk(bo), req, key, "")
    assert created
    return ticket["id"], _personal(app), key


def _act(bo: Any, ticket_id: int, *steps: str, counter: int = 1, note: str | None = None
         ) -> None:
    for action in steps:
        actions.act(bo, admin(), ticket_id, action,
                    counter=counter if action in ("call", "recall") else None, note=note)


def _day(bo: Any) -> dict[str, Any]:
    """Tickets in every state (two procedures each), one uploaded from an offline kiosk,
    staff notes naming residents. Returns {status: [(id, values, key), ...]}."""
    made: dict[str, list[tuple[int, list[str], str]]] = {s: [] for s in FINISHED + OPEN}
    # The kiosk-offline path: a ticket printed while offline, uploaded later, then served.
    today = clock.office_day(clock.utcnow(), bo.tz)
    block, _ = offline_blocks.reserve_block(bo, kiosk(bo), "certificates", today, 3,
                                            "blk-retention")
    t = _issue(bo, 100, "juminhyo", offline_block=block["block_id"],
               offline_number=block["first"],
               offline_issued_at=datetime.now().astimezone() - timedelta(minutes=3))
    _act(bo, t[0], "call", "start", "complete", counter=1)
    made["done"].append(t)
    n = 0
    three = ("juminhyo", "koseki", "tennyu")
    # (actions, procedures, counters): a counter holds one called/serving ticket at a time.
    plan = {"done": (("call", "start", "complete"), three, (1, 2, 3)),
            "cancelled": (("cancel",), three, (1, 2, 3)),
            "no_show": (("call", "no-show"), three, (1, 2, 3)),
            "waiting": ((), three, (1, 2, 3)), "held": (("hold",), three, (1, 2, 3)),
            "called": (("call",), ("juminhyo", "tennyu"), (1, 3)),
            "serving": (("call", "start"), ("koseki", "tennyu"), (2, 4))}
    for status, (steps, procedures, counters) in plan.items():
        for procedure, counter in zip(procedures, counters, strict=True):
            n += 1
            t = _issue(bo, n, procedure)
            _act(bo, t[0], *steps, counter=counter,
                 note=f"{t[1][0]}さん 書類確認" if status in ("held", "cancelled") else None)
            made[status].append(t)
    _pay_at_counter(bo, made["done"][1][0])
    # Tickets without an application (a plain queue ticket) whose staff note names someone.
    for kind, finish in (("plain_finished", True), ("plain_open", False)):
        plain, _ = issuing.issue(bo, kiosk(bo), request("certificates"), uuid.uuid4().hex, "")
        name = f"電話確認{kind}様"
        _act(bo, plain["id"], "hold", note=f"{name}から書類の問い合わせ")
        if finish:
            _act(bo, plain["id"], "cancel")
        made[kind] = [(plain["id"], [name], "")]
    return made


def _pay_at_counter(bo: Any, ticket_id: int) -> None:
    """A payment row and its audit rows belong to the day too (the scan reads them)."""
    from kiosk.backoffice.config import BackofficePaymentSettings
    from kiosk.backoffice.payments.service import Actor, PaymentService

    service = PaymentService(bo.engine, BackofficePaymentSettings(), None, bo.tz, bo)
    staff = Actor("staff", "tester")
    payment = service.start(ticket_id, "counter", staff, "")
    assert service.paid_at_counter(payment["id"], "R-0001", staff)["state"] == "paid"


def _dump(bo: Any) -> str:
    """Every value of every column of every table, as text (JSON as stored)."""
    parts: list[str] = []
    with reading(bo.engine) as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(json.dumps(v, ensure_ascii=False, default=str)
                             if isinstance(v, dict | list) else str(v) for v in row)
    return "\n".join(parts)


def _statistics(bo: Any) -> Any:
    """What the city's statistics read: every ticket's numbers, times, procedure, fee, and
    the audit trail's counts per event type (purge events aside)."""
    with reading(bo.engine) as conn:
        tickets = conn.execute(select(
            T.c.id, T.c.ward, T.c.origin_service, T.c.service, T.c.day, T.c.number, T.c.label,
            T.c.priority, T.c.status, T.c.procedure, T.c.fee_yen, T.c.payment_status,
            T.c.counter, T.c.queue_at, T.c.issued_at, T.c.called_at, T.c.started_at,
            T.c.completed_at, T.c.recall_count, T.c.offline, T.c.language).order_by(T.c.id)
        ).all()
        e = m.ticket_events
        events = conn.execute(text(
            "SELECT type, count(*), min(at), max(at) FROM ticket_events "
            "WHERE type NOT IN (:a, :b) GROUP BY type ORDER BY type"),
            {"a": retention.EVENT_TYPE, "b": retention.NOTES_EVENT_TYPE}).all()
        ids = conn.execute(select(e.c.id, e.c.ticket_id, e.c.type, e.c.at, e.c.actor,
                                  e.c.counter).where(e.c.type.not_in(
                                      (retention.EVENT_TYPE, retention.NOTES_EVENT_TYPE)))
                           .order_by(e.c.id)).all()
    return [tuple(r) for r in tickets], [tuple(r) for r in events], [tuple(r) for r in ids]


def _applications(bo: Any) -> dict[int, Any]:
    with reading(bo.engine) as conn:
        return {r.id: r for r in conn.execute(select(
            T.c.id, T.c.application, T.c.application_purged_at, T.c.application_purge_reason,
            T.c.request_hash))}


def _purge_events(bo: Any, type_: str = retention.EVENT_TYPE) -> dict[int, list[dict[str, Any]]]:
    e = m.ticket_events
    out: dict[int, list[dict[str, Any]]] = {}
    with reading(bo.engine) as conn:
        for r in conn.execute(select(e).where(e.c.type == type_)):
            out.setdefault(r.ticket_id, []).append(json.loads(r.data))
    return out


def _tomorrow_morning(bo: Any) -> datetime:
    today = clock.office_day(clock.utcnow(), bo.tz)
    return clock.to_utc(datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                         tzinfo=bo.tz) + timedelta(minutes=30))


def test_a_day_of_tickets_is_purged_and_nothing_personal_is_left(bo):
    made = _day(bo)
    finished_values = [v for s in FINISHED for _, vals, _ in made[s] for v in vals]
    open_values = [v for s in OPEN for _, vals, _ in made[s] for v in vals]
    finished_values += made["plain_finished"][0][1]
    open_values += made["plain_open"][0][1]
    dump = _dump(bo)
    assert all(v in dump for v in finished_values + open_values)  # the scan does see them
    with reading(bo.engine) as conn:  # every kind of row is there to be scanned
        assert conn.execute(text("SELECT count(*) FROM payment_events")).scalar() >= 2
    stats = _statistics(bo)

    # Today nothing is due: the counter may still need today's finished forms.
    assert retention.purge(bo).tickets == 0

    # After midnight (office day): finished tickets lose it, open ones keep theirs.
    night = _tomorrow_morning(bo)
    dry = retention.purge(bo, now=night, dry_run=True)
    assert _statistics(bo) == stats and _purge_events(bo) == {}
    report = retention.purge(bo, now=night)
    n_finished = sum(len(made[s]) for s in FINISHED)
    assert (report.finished, report.retention) == (n_finished, 0)
    assert dry.as_dict() == {**report.as_dict(), "dry_run": True}
    # The cancelled ones' notes named them, and the plain finished ticket's.
    assert report.notes == len(made["cancelled"]) + 1
    dump = _dump(bo)
    leaked = [v for v in finished_values if v in dump]
    assert leaked == [], f"personal data left after the purge: {leaked}"
    assert all(v in dump for v in open_values), "an open ticket lost its application"
    rows = _applications(bo)
    for s in FINISHED:
        for ticket_id, _, _ in made[s]:
            r = rows[ticket_id]
            assert r.application is None and r.application_purged_at == night
            assert r.application_purge_reason == "finished"
            assert r.request_hash == lookups.PURGED_HASH
    for s in OPEN:
        for ticket_id, _, _ in made[s]:
            assert rows[ticket_id].application is not None
            assert rows[ticket_id].application_purged_at is None
    events = _purge_events(bo)
    assert set(events) == {t for s in FINISHED for t, _, _ in made[s]}
    for ticket_id, evs in events.items():
        assert len(evs) == 1
        assert evs[0]["data"] == {"reason": "finished", "rule": "finished_grace=day_end",
                                  "by": "server"}
        assert evs[0]["ticket"]["id"] == ticket_id
    plain = made["plain_finished"][0][0]
    assert {t: [e["data"]["reason"] for e in evs] for t, evs in _purge_events(
        bo, retention.NOTES_EVENT_TYPE).items()} == {plain: ["finished"]}
    assert _statistics(bo) == stats, "the purge changed what the statistics read"

    # Again: nothing more to do, nothing written.
    assert retention.purge(bo, now=night + timedelta(hours=1)).tickets == 0
    assert _purge_events(bo) == events

    # The hard limit: days later the open tickets lose theirs too, whatever their state.
    later = clock.utcnow() + timedelta(days=bo.settings.retention.max_days, minutes=1)
    report = retention.purge(bo, now=later)
    assert (report.finished, report.retention) == (0, sum(len(made[s]) for s in OPEN))
    assert report.notes == len(made["held"]) + 1  # and the plain open ticket's
    dump = _dump(bo)
    leaked = [v for v in finished_values + open_values if v in dump]
    assert leaked == [], f"personal data left after the hard limit: {leaked}"
    assert all(r.application is None for r in _applications(bo).values())
    assert {e[0]["data"]["reason"] for t, e in _purge_events(bo).items()
            if t in {t for s in OPEN for t, _, _ in made[s]}} == {"retention"}
    assert _statistics(bo) == stats
    assert retention.purge(bo, now=later).tickets == 0


def test_views_after_the_purge_and_a_late_retry(bo):
    ticket_id, values, key = _issue(bo, 1, "koseki")
    _act(bo, ticket_id, "call", "start", "complete")
    before = views.get_ticket(bo, admin(), ticket_id, "")
    assert before["application"] is not None and before["application_purged"] is None
    retention.purge(bo, now=_tomorrow_morning(bo))
    after = views.get_ticket(bo, admin(), ticket_id, "")
    assert after["application"] is None
    assert after["application_purged"]["reason"] == "finished"
    assert after["application_purged"]["at"].startswith(
        clock.office_day(_tomorrow_morning(bo), bo.tz).isoformat())
    # The kiosk's outbox retrying the upload under the same key gets the same ticket back,
    # and the personal data is not stored again.
    p = bo.catalog.procedures["koseki"]
    app = _application(bo, 1, "koseki")
    again, created = issuing.issue(bo, kiosk(bo), issuing.TicketRequest(
        ward="kita", service=p.service, procedure="koseki", application=app,
        priority="normal", language="ja"), key, "")
    assert not created and again["id"] == ticket_id
    assert _applications(bo)[ticket_id].application is None
    assert not [v for v in values if v in _dump(bo)]

    from kiosk.backoffice.web.application_view import application_sections

    laid = application_sections(after, bo.catalog)
    assert laid["purged"]["reason"] == "finished"
    text_ = json.dumps(laid["sections"], ensure_ascii=False)
    assert "削除済み" in text_ and "保存期間" in text_


def test_minutes_grace_and_no_show_recalled_before_it(tmp_path):
    bo = _sqlite_bo(tmp_path, finished_grace=30)
    done, _, _ = _issue(bo, 1, "juminhyo")
    _act(bo, done, "call", "start", "complete")
    back, _, _ = _issue(bo, 2, "juminhyo")
    _act(bo, back, "call", "no-show", "recall")  # came back: called again, not finished
    now = clock.utcnow()
    assert retention.purge(bo, now=now + timedelta(minutes=29)).tickets == 0
    report = retention.purge(bo, now=now + timedelta(minutes=31))
    assert report.finished == 1 and report.retention == 0
    rows = _applications(bo)
    assert rows[done].application is None and rows[back].application is not None
    events = _purge_events(bo)
    assert events[done][0]["data"]["rule"] == "finished_grace=30"
    bo.engine.dispose()



def test_no_purge_event_where_no_note_was_removed(tmp_path):
    """An audit row that only looks like it holds a note (the word as a value) gets no
    `ticket.notes_purged` event — not once, and not again at every periodic purge."""
    bo = _sqlite_bo(tmp_path, finished_grace=0)
    ticket = issuing.issue(bo, kiosk(bo), issuing.TicketRequest(
        ward="kita", service="certificates", procedure=None, application=None,
        priority="normal", language="ja"), uuid.uuid4().hex, "")[0]["id"]
    _act(bo, ticket, "cancel")
    e = m.ticket_events
    with writing(bo.engine) as conn:
        conn.execute(e.update().where(e.c.ticket_id == ticket).values(
            data='{"type":"ticket.cancelled","data":{"kind":"note"}}'))
    later = clock.utcnow() + timedelta(minutes=1)
    for _ in range(3):
        assert retention.purge(bo, now=later).notes == 0
    assert _purge_events(bo, retention.NOTES_EVENT_TYPE) == {}
    bo.engine.dispose()

def test_sqlite_file_holds_no_purged_bytes(tmp_path):
    """SQLite: secure_delete and the WAL checkpoint leave the values nowhere in the files."""
    db = tmp_path / "bo.sqlite3"
    bo = make_backoffice(f"sqlite:///{db}")
    made = [_issue(bo, i, "koseki") for i in range(1, 40)]
    for ticket_id, _, _ in made:
        _act(bo, ticket_id, "cancel", note="本人から電話")
    values = [v for _, vals, _ in made for v in vals]

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("bo.sqlite3*"))

    assert all(v.encode() in on_disk() for v in values[:3])
    assert retention.purge(bo, now=_tomorrow_morning(bo)).tickets == len(made)
    # Read while the pool still holds its connections, as in a running server (closing
    # the last one would checkpoint by itself and hide a missing checkpoint).
    raw = on_disk()
    assert [v for v in values if v.encode() in raw] == []
    bo.engine.dispose()


def test_a_reader_delays_the_wal_checkpoint_without_blocking_the_queue(tmp_path):
    """A read transaction open during the purge keeps the WAL checkpoint from completing.
    The purge must not hold SQLite's write lock waiting for it (the busy timeout is 30 s:
    every ticket issued meanwhile would wait), and the next purge must checkpoint again
    even with nothing new to delete, so the purged values do leave the -wal file."""
    db = tmp_path / "bo.sqlite3"
    bo = make_backoffice(f"sqlite:///{db}")
    made = [_issue(bo, i, "koseki") for i in range(1, 20)]
    for ticket_id, _, _ in made:
        _act(bo, ticket_id, "cancel")
    values = [v for _, vals, _ in made for v in vals]

    def left() -> list[str]:
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("bo.sqlite3*"))
        return [v for v in values if v.encode() in raw]

    reader = bo.engine.connect()
    reader.exec_driver_sql("SELECT count(*) FROM tickets").all()  # holds a snapshot
    try:
        started = time.monotonic()
        assert retention.purge(bo, now=_tomorrow_morning(bo)).tickets == len(made)
        # Not a speed figure: the write lock is held for as long as the checkpoint waits
        # for the reader, and waiting out the 30 s busy timeout would stop the queue.
        assert time.monotonic() - started < 10
        assert left() != []  # the reader still needs the WAL
        with reading(bo.engine) as conn:  # the pool's connections keep their busy timeout
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
            # and a restarted WAL is cut back (a burst can grow it to ~128 MB)
            assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar_one() == 16 << 20
    finally:
        reader.close()
    assert retention.purge(bo, now=_tomorrow_morning(bo)).tickets == 0
    assert left() == []
    bo.engine.dispose()


def test_the_server_purges_by_itself(tmp_path, monkeypatch):
    """The periodic task inside the real app (lifespan), with the clock driven past midnight;
    the staff API and pages then say "purged" instead of failing."""
    from fastapi.testclient import TestClient

    from kiosk.backoffice.app import create_app
    from tests.support.backoffice import TEST_PASSWORDS

    bo = _sqlite_bo(tmp_path, check_seconds=1)
    finished, values, _ = _issue(bo, 1, "juminhyo")
    _act(bo, finished, "call", "start", "complete")
    waiting, kept, _ = _issue(bo, 2, "juminhyo")
    night = _tomorrow_morning(bo)
    monkeypatch.setattr(clock, "utcnow", lambda: night)
    with TestClient(create_app(bo)) as client:
        deadline = time.monotonic() + 20
        while _applications(bo)[finished].application is not None:
            assert time.monotonic() < deadline, "the server did not purge by itself"
            time.sleep(0.1)
        token = client.post("/api/v1/auth/login", json={
            "username": "staff", "password": TEST_PASSWORDS["staff"]}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        ticket = client.get(f"/api/v1/tickets/{finished}", headers=auth).json()
        assert ticket["application"] is None
        assert ticket["application_purged"]["reason"] == "finished"
        pdf = client.get(f"/api/v1/tickets/{finished}/form.pdf", headers=auth)
        assert pdf.status_code == 410 and pdf.json()["error"] == "application_purged"
        page = client.get(f"/web/tickets/{finished}/application", headers=auth)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["form_pdf"] is None and body["purged"]["reason"] == "finished"
        assert "削除済み" in json.dumps(body["sections"], ensure_ascii=False)
        events = client.get(f"/api/v1/tickets/{finished}/events", headers=auth).json()
        assert events[-1]["type"] == retention.EVENT_TYPE
        assert events[-1]["data"]["reason"] == "finished" and events[-1]["actor"] is None
        kept_view = client.get(f"/api/v1/tickets/{waiting}", headers=auth).json()
        assert kept_view["application"]["values"]["name"] == kept[0]
        assert kept_view["application_purged"] is None
    assert not [v for v in values if v in _dump(bo)]
    bo.engine.dispose()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.backoffice", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_purge_command_and_dry_run(tmp_path):
    db = f"sqlite:///{tmp_path}/bo.sqlite3"
    bo = make_backoffice(db)
    done = [_issue(bo, i, "juminhyo") for i in range(1, 4)]
    for ticket_id, _, _ in done:
        _act(bo, ticket_id, "cancel")
    open_ = _issue(bo, 9, "juminhyo")
    config = tmp_path / "backoffice.toml"
    config.write_text("[retention]\nfinished_grace = 0\n", encoding="utf-8")
    dry = _cli("purge", "--db", db, "--config", str(config), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete the application data of 3 ticket(s)" in dry.stdout
    assert json.loads(dry.stdout.splitlines()[-1]) == {
        "finished": 3, "retention": 0, "notes": 0, "tickets": 3, "dry_run": True}
    assert all(r.application is not None for r in _applications(bo).values())
    real = _cli("purge", "--db", db, "--config", str(config))
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout.splitlines()[-1])["tickets"] == 3
    rows = _applications(bo)
    assert [t for t, r in rows.items() if r.application is not None] == [open_[0]]
    assert {e[0]["data"]["by"] for e in _purge_events(bo).values()} == {"command"}
    again = _cli("purge", "--db", db, "--config", str(config))
    assert json.loads(again.stdout.splitlines()[-1])["tickets"] == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[retention]\nfinished_grace = "tomorrow"\n', encoding="utf-8")
    refused = _cli("purge", "--db", db, "--config", str(bad))
    assert refused.returncode == 2 and "retention.finished_grace" in refused.stderr
    unmigrated = _cli("purge", "--db", f"sqlite:///{tmp_path}/none.sqlite3")
    assert unmigrated.returncode == 2 and "not migrated" in unmigrated.stderr
    bo.engine.dispose()


def _migration_round_trip(url: str) -> None:
    from alembic import command

    migrate(url, "0201_waiting_counts")
    engine = make_engine(url, pool_size=1)
    app = json.dumps({"procedure": "juminhyo", "values": {"name": "移行太郎"}},
                     ensure_ascii=False)
    with writing(engine) as conn:
        conn.execute(text("INSERT INTO wards (code, name) VALUES ('kita', '北区')"))
        conn.execute(text(
            "INSERT INTO tickets (ward, origin_service, service, day, number, label, priority, "
            "rank, language, procedure, application, status, queue_at, issued_at, "
            "idempotency_key, request_hash, status_token) VALUES ('kita', 'certificates', "
            "'certificates', '2026-11-20', 1, 'A-001', 'normal', 2, 'ja', 'juminhyo', :app, "
            "'waiting', '2026-11-20 01:00:00', '2026-11-20 01:00:00', 'kkkkkkkkkkkkkkkk', 'h', "
            "'tttttttttttttttttttttttttttttttttttttttttttt')"), {"app": app})
    engine.dispose()
    migrate(url)
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("tickets")}
        assert {"application_purged_at", "application_purge_reason"} <= columns
        assert "ix_tickets_unpurged" in {i["name"] for i in inspect(conn).get_indexes("tickets")}
        assert "ix_ticket_events_note" in {
            i["name"] for i in inspect(conn).get_indexes("ticket_events")}
        row = conn.execute(text("SELECT application, application_purged_at FROM tickets")).one()
        assert "移行太郎" in str(row[0]) and row[1] is None
    engine.dispose()
    command.downgrade(alembic_config(url), "0201_waiting_counts")
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("tickets")}
        assert not {"application_purged_at", "application_purge_reason"} & columns
        assert "ix_tickets_unpurged" not in {i["name"]
                                             for i in inspect(conn).get_indexes("tickets")}
        assert "ix_ticket_events_note" not in {
            i["name"] for i in inspect(conn).get_indexes("ticket_events")}
        assert "移行太郎" in str(conn.execute(text("SELECT application FROM tickets")).scalar())
    engine.dispose()
    migrate(url)


def test_migration_up_and_down_sqlite(tmp_path):
    _migration_round_trip(f"sqlite:///{tmp_path}/mig.sqlite3")


@pytest.mark.postgres
def test_migration_up_and_down_postgres(postgres_url):
    _migration_round_trip(postgres_url)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_database_errors_do_not_quote_personal_data(db, request, tmp_path):
    """An error while storing a ticket is logged with its message; that message must not
    carry the bound values (the application's name, address, ...)."""
    from sqlalchemy.exc import DBAPIError

    url = (f"sqlite:///{tmp_path}/e.sqlite3" if db == "sqlite"
           else request.getfixturevalue("postgres_url"))
    migrate(url)
    engine = make_engine(url, pool_size=1)
    secret = json.dumps({"values": {"name": "漏洩確認太郎"}}, ensure_ascii=False)
    with pytest.raises(DBAPIError) as caught, writing(engine) as conn:
        conn.execute(text("INSERT INTO tickets (application, ward) VALUES (:a, NULL)"),
                     {"a": secret})
    engine.dispose()
    if db == "sqlite":  # PostgreSQL's own DETAIL quotes the failing row: see safe_error
        assert "漏洩確認太郎" not in str(caught.value)
        assert "hidden" in str(caught.value)  # SQLAlchemy's "[SQL parameters hidden ...]"
    said = safe_error(caught.value)
    assert "漏洩確認太郎" not in said and "ward" in said, said


def test_two_purgers_at_once_purge_each_ticket_once(bo):
    """Several server processes each run the periodic purge: every ticket once, one event."""
    from concurrent.futures import ThreadPoolExecutor

    made = [_issue(bo, i, "juminhyo")[0] for i in range(1, 61)]
    for ticket_id in made:
        _act(bo, ticket_id, "cancel")
    night = _tomorrow_morning(bo)
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda _: retention.purge(bo, now=night), range(4)))
    assert sum(r.tickets for r in reports) == len(made)
    events = _purge_events(bo)
    assert sorted(events) == sorted(made) and all(len(e) == 1 for e in events.values())


@pytest.mark.parametrize(("setting", "problem"), [
    ({"finished_grace": "tomorrow"}, "retention.finished_grace"),
    ({"finished_grace": -5}, "retention.finished_grace"),
    ({"finished_grace": True}, "retention.finished_grace"),
    ({"max_days": 0}, "retention.max_days"),
    ({"check_seconds": "often"}, "retention.check_seconds"),
    ({"keep_forever": True}, "retention.keep_forever"),
])
def test_bad_retention_settings_name_the_key(setting, problem):
    from kiosk.backoffice.config import Settings
    from kiosk.domain.errors import ConfigError

    with pytest.raises(ConfigError, match=problem.replace(".", r"\.")):
        Settings.from_mapping({"retention": setting})
    good = Settings.from_mapping({"retention": {"finished_grace": 90, "max_days": 1}})
    assert good.retention.finished_grace == 90 and good.retention.max_days == 1
    assert Settings.from_mapping({}).retention.finished_grace == "day_end"
