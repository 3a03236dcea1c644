"""The catalog as versions in the database (issue #20): the files become version 1 at the
first start; an admin's change is validated like the files, stored as the next version
with who/when/what, and served at once by this process and, without a restart, by another
server process on the same database; the files stay as import/export."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.backoffice import catalog_edits as edit
from kiosk.backoffice import catalog_versions as versions
from kiosk.domain.errors import ConfigError
from tests.backoffice.accounts import create_account
from tests.backoffice.conftest import issue, new_ticket, ok
from tests.support.backoffice import REPO

A = "/admin/catalog"


def fee(server: Any, code: str) -> int:
    body = ok(requests.get(server.api("/catalog"), timeout=10))
    return int(next(p["fee_yen"] for p in body["procedures"] if p["code"] == code))


def until(check: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# --- without HTTP ------------------------------------------------------------------------

def test_files_round_trip_and_changes_are_described(tmp_path: Path) -> None:
    data = versions.read_files()
    loaded = versions.validate(data)
    assert loaded.life_events is not None and loaded.life_events_error is None
    changed = edit.patch_table(data, "procedures", "juminhyo", {"fee_yen": 350})
    what = versions.changes(data, changed)
    assert what == ["catalog.procedures.juminhyo.fee_yen: 300 → 350"]
    fields = next(p for p in data["catalog"]["procedures"] if p["code"] == "juminhyo")["fields"]
    moved = edit.patch_table(data, "procedures", "juminhyo", {"fields": fields[::-1]})
    assert versions.changes(data, moved)[0].startswith(
        "catalog.procedures.juminhyo.fields: order ['name', 'address'")
    counter = edit.put_counter(data, "kita", 42, "臨時窓口", ["certificates"])
    assert versions.changes(data, counter) == [
        "catalog.wards.kita.counters.42: added {…}"]
    assert versions.changes(None, data) == ["catalog: imported", "life_events: imported",
                                            "calendar: imported"]
    written = versions.write_files(dataclasses.replace(loaded, version=3, data=changed),
                                   tmp_path)
    assert [p.name for p in written] == ["catalog.toml", "life_events.toml", "calendar.toml"]
    with (tmp_path / "catalog.toml").open("rb") as fh:
        assert tomllib.load(fh) == changed["catalog"]


def test_an_edit_is_checked_by_the_files_own_validation() -> None:
    data = versions.read_files()
    with pytest.raises(ConfigError, match="fee_yen"):
        versions.validate(edit.patch_table(data, "procedures", "juminhyo", {"fee_yen": -5}))
    with pytest.raises(ConfigError, match="not offered by this ward"):
        versions.validate(edit.put_counter(data, "kita", 9, "x", ["no-such"]))
    with pytest.raises(ConfigError, match="later than opens"):
        versions.validate(edit.set_hours(data, "kita", "17:00", "09:00", [0, 1]))
    with pytest.raises(KeyError):
        edit.delete_counter(data, "kita", 999)


def test_save_stores_versions_with_who_and_refuses_a_stale_base(bo: Any) -> None:
    from kiosk.backoffice.seed import Actor

    versions.start(bo)                       # the first start: the files become version 1
    assert bo.catalog_number == 1 and versions.latest_number(bo.engine) == 1
    versions.start(bo)                       # the next start imports nothing
    assert versions.latest_number(bo.engine) == 1
    current = versions.load(bo.engine)
    assert current is not None
    loaded, what = versions.save(
        bo.engine, edit.patch_table(current.data, "procedures", "juminhyo", {"fee_yen": 400}),
        actor=Actor("boss"), action="catalog.procedure", base=1)
    assert loaded.version == 2 and what == ["catalog.procedures.juminhyo.fee_yen: 300 → 400"]
    with pytest.raises(versions.Stale):
        versions.save(bo.engine, edit.patch_table(current.data, "procedures", "juminhyo",
                                                  {"fee_yen": 500}), base=1)
    same, nothing = versions.save(bo.engine, loaded.data, base=2)
    assert same.version == 2 and nothing == []
    row = versions.history(bo.engine)[0]
    assert (row.version, row.actor, row.action) == (2, "boss", "catalog.procedure")
    assert versions.refresh(bo) and bo.catalog.procedure("juminhyo").fee_yen == 400


def test_a_start_closes_a_busy_removed_counter_and_drops_idle_ones(bo: Any) -> None:
    """A stored version that removes counters (the database changed by hand, say): the idle
    one leaves the table at the next start, the one serving a ticket is only closed."""
    from sqlalchemy import select, update

    from kiosk.backoffice import models as m
    from kiosk.backoffice.db import reading, writing
    from kiosk.backoffice.seed import sync_catalog_in

    versions.start(bo)
    data = versions.load(bo.engine).data  # type: ignore[union-attr]
    data = edit.put_counter(edit.put_counter(data, "kita", 81, "81", ["certificates"]),
                            "kita", 82, "82", ["certificates"])
    versions.save(bo.engine, data)
    ticket = new_ticket(bo)
    with writing(bo.engine) as conn:
        conn.execute(update(m.counters).where(m.counters.c.number.in_((81, 82)))
                     .values(is_open=True))
        conn.execute(update(m.tickets).where(m.tickets.c.id == ticket["id"])
                     .values(status="serving", counter=81))
    gone = edit.delete_counter(edit.delete_counter(data, "kita", 81), "kita", 82)
    with writing(bo.engine) as conn:
        sync_catalog_in(conn, versions.validate(gone).catalog)
    with reading(bo.engine) as conn:
        rows = dict(conn.execute(select(m.counters.c.number, m.counters.c.is_open).where(
            m.counters.c.ward == "kita", m.counters.c.number.in_((81, 82)))).all())
    assert rows == {81: False}


# --- over HTTP ---------------------------------------------------------------------------

@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_fee_changed_in_one_process_is_served_by_the_other(backoffice_factory: Any,
                                                             db: str) -> None:
    """SQLite: the other process polls (every 0.5 s here). PostgreSQL: polling off, the
    NOTIFY alone brings it."""
    poll = 0.5 if db == "sqlite" else 0
    one = backoffice_factory.start(None if db == "sqlite" else "postgres",
                                   config={"catalog": {"poll_seconds": poll}})
    two = backoffice_factory.also(one)
    admin = one.session("admin")
    before = fee(two, "juminhyo")
    version = ok(admin.get(one.api(A)))["version"]
    r = admin.patch(one.api(f"{A}/procedures/juminhyo"), timeout=10,
                    json={"fee_yen": before + 50, "base_version": version})
    saved = ok(r)
    assert saved["version"] == version + 1
    assert saved["changes"] == [f"catalog.procedures.juminhyo.fee_yen: {before} → {before + 50}"]
    assert fee(one, "juminhyo") == before + 50           # this process: at once
    assert until(lambda: fee(two, "juminhyo") == before + 50, 10)  # the other: soon
    # the kiosk's config follows (its ETag changes, so its next sync fetches it)
    kiosk = {"Authorization": f"Bearer {one.kiosk_token}"}
    config = ok(requests.get(two.api("/device/config"), headers=kiosk, timeout=10))
    assert next(p["fee_yen"] for p in config["procedures"] if p["code"] == "juminhyo") \
        == before + 50
    # a second edit from the stale version is refused, not silently overwritten
    r = admin.patch(one.api(f"{A}/procedures/juminhyo"), timeout=10,
                    json={"fee_yen": 1, "base_version": version})
    assert r.status_code == 409 and r.json()["error"] == "catalog_changed"
    # the audit trail: who, when, what
    rows = ok(admin.get(two.api(f"{A}/versions")))
    assert rows[0]["actor"] == "admin" and rows[0]["action"] == "catalog.procedure"
    assert rows[-1]["action"] == "catalog.imported"


def test_counters_hours_and_days_of_a_ward(backoffice: Any) -> None:
    server = backoffice
    admin = server.session("admin")
    ok(admin.put(server.api(f"{A}/wards/kita/counters/77"), timeout=10,
                 json={"name": "臨時窓口", "services": ["certificates"]}))
    lobby = ok(requests.get(server.api("/wards/kita/queue"), timeout=10,
                            headers={"Authorization": f"Bearer {server.kiosk_token}"}))
    assert lobby is not None
    # the new counter can be opened at once (it is in the counters table too)
    r = server.session("admin").post(server.api("/wards/kita/counters/77/open"), timeout=10)
    assert r.status_code == 200, r.text
    ok(admin.put(server.api(f"{A}/wards/kita/counters/77"), timeout=10,
                 json={"name": "7番(臨時)", "services": ["certificates", "moving"]}))
    wards = ok(admin.get(server.api(A)))["catalog"]["wards"]
    kita = next(w for w in wards if w["code"] == "kita")
    assert {"number": 77, "name": "7番(臨時)", "services": ["certificates", "moving"]} \
        in kita["counters"]
    ok(admin.delete(server.api(f"{A}/wards/kita/counters/77"), timeout=10))
    r = admin.delete(server.api(f"{A}/wards/kita/counters/77"), timeout=10)
    assert r.status_code == 404
    # the services a ward offers: its counters must still fit them
    offered = next(w for w in ok(admin.get(server.api(A)))["catalog"]["wards"]
                   if w["code"] == "kita")["services"]
    r = admin.put(server.api(f"{A}/wards/kita/services"), timeout=10,
                  json={"services": [s for s in offered if s != "certificates"]})
    assert r.status_code == 422 and "not offered by this ward" in r.json()["message"]
    assert ok(admin.put(server.api(f"{A}/wards/kita/services"), timeout=10,
                        json={"services": offered}))["changes"] == []
    # hours: validated like the file (opens before closes), a clear 422
    r = admin.put(server.api(f"{A}/wards/kita/hours"), timeout=10,
                  json={"opens": "18:00", "closes": "09:00", "weekdays": [0, 1, 2]})
    assert r.status_code == 422 and "later than opens" in r.json()["message"]
    ok(admin.put(server.api(f"{A}/wards/kita/hours"), timeout=10,
                 json={"opens": "09:00", "closes": "19:00", "weekdays": [0, 1, 2, 3, 4, 5]}))
    hours = next(w for w in ok(requests.get(server.api("/wards"), timeout=10))
                 if w["code"] == "kita")
    assert (hours["opens"], hours["closes"], hours["weekdays"]) == \
        ("09:00", "19:00", [0, 1, 2, 3, 4, 5])
    # closed days and a special opening
    ok(admin.put(server.api(f"{A}/wards/kita/days"), timeout=10,
                 json={"closed": ["2027-03-31"], "open": ["2027-03-28"]}))
    cal = ok(admin.get(server.api(A)))["calendar"]
    assert cal["closed"]["kita"] == ["2027-03-31"] and cal["open"]["kita"] == ["2027-03-28"]
    r = admin.put(server.api(f"{A}/wards/kita/days"), timeout=10,
                  json={"closed": ["2027-03-31"], "open": ["2027-03-31"]})
    assert r.status_code == 422
    r = admin.put(server.api(f"{A}/wards/kita/days"), timeout=10, json={"closed": ["31/3"]})
    assert r.status_code == 422


def test_a_ward_admin_changes_its_ward_only(backoffice: Any) -> None:
    server = backoffice
    server.passwords["admin-kita"] = create_account(server, "admin-kita", "admin", "kita")
    mine = server.session("admin-kita")
    ok(mine.put(server.api(f"{A}/wards/kita/counters/78"), timeout=10,
                json={"name": "78番", "services": ["certificates"]}))
    r = mine.put(server.api(f"{A}/wards/naka/counters/78"), timeout=10,
                 json={"name": "78番", "services": ["certificates"]})
    assert r.status_code == 403
    r = mine.patch(server.api(f"{A}/procedures/juminhyo"), timeout=10, json={"fee_yen": 1})
    assert r.status_code == 403 and "city-wide" in r.json()["message"]
    seen = ok(mine.get(server.api(A)))
    assert [w["code"] for w in seen["catalog"]["wards"]] == ["kita"]
    r = server.session("supervisor").get(server.api(A), timeout=10)
    assert r.status_code == 403


def test_import_and_export_on_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/c.sqlite3"

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "kiosk.backoffice", *args, "--db", db],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    cli("migrate")
    assert cli("catalog", "import").startswith("catalog version 1")
    cli("catalog", "export", "--to", str(tmp_path / "out"))
    text = (tmp_path / "out" / "catalog.toml").read_text(encoding="utf-8")
    head, tail = text.split('code = "juminhyo"', 1)
    (tmp_path / "out" / "catalog.toml").write_text(
        head + 'code = "juminhyo"' + tail.replace("fee_yen = 300", "fee_yen = 310", 1),
        encoding="utf-8")
    out = cli("catalog", "import", "--from", str(tmp_path / "out"))
    assert out.startswith("catalog version 2") and "fee_yen" in out
    assert "catalog.imported" in cli("catalog", "versions")


# --- roll back, a removed counter, a removed life event ------------------------------------

def counter_rows(server: Any, ward: str = "kita") -> dict[int, bool]:
    """The counters table of a ward (number: open), read from the server's database."""
    from sqlalchemy import create_engine, select

    from kiosk.backoffice import models as m

    engine = create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return {r.number: bool(r.is_open) for r in conn.execute(
                select(m.counters.c.number, m.counters.c.is_open)
                .where(m.counters.c.ward == ward))}
    finally:
        engine.dispose()


def test_a_removed_counter_leaves_the_table_but_not_mid_service(backoffice: Any) -> None:
    server = backoffice
    admin, staff = server.session("admin"), server.session("staff")
    ok(admin.put(server.api(f"{A}/wards/kita/counters/77"), timeout=10,
                 json={"name": "臨時窓口", "services": ["certificates"]}))
    ok(staff.post(server.api("/wards/kita/counters/77/open"), timeout=10))
    ok(issue(server), 201)
    ticket = ok(staff.post(server.api("/wards/kita/counters/77/call-next"), timeout=10))
    ok(staff.post(server.api(f"/tickets/{ticket['id']}/start"), timeout=10))
    before = ok(admin.get(server.api(A)))["version"]
    r = admin.delete(server.api(f"{A}/wards/kita/counters/77"), timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "counter_busy"
    assert "kita: 77" in r.json()["message"]
    assert ok(admin.get(server.api(A)))["version"] == before      # nothing stored
    assert counter_rows(server)[77] is True
    ok(staff.post(server.api(f"/tickets/{ticket['id']}/complete"), timeout=10))
    ok(admin.delete(server.api(f"{A}/wards/kita/counters/77"), timeout=10))
    assert 77 not in counter_rows(server)
    r = staff.post(server.api("/wards/kita/counters/77/call-next"), timeout=10)
    assert r.status_code == 404


def test_roll_back_to_an_earlier_version(backoffice: Any) -> None:
    server = backoffice
    admin = server.session("admin")
    first = ok(admin.get(server.api(A)))["version"]
    before = fee(server, "juminhyo")
    ok(admin.patch(server.api(f"{A}/procedures/juminhyo"), timeout=10,
                   json={"fee_yen": before + 100}))
    ok(admin.put(server.api(f"{A}/wards/kita/counters/79"), timeout=10,
                 json={"name": "79番", "services": ["certificates"]}))
    assert 79 in counter_rows(server)
    # a ward's admin rolls back its ward's parts only: the counter goes, the fee stays
    server.passwords["admin-kita"] = create_account(server, "admin-kita", "admin", "kita")
    mine = server.session("admin-kita")
    saved = ok(mine.post(server.api(f"{A}/versions/{first}/rollback"), json={}, timeout=10))
    assert saved["changes"][0] == f"rolled back to {first} (kita)"
    assert "catalog.wards.kita.counters.79: removed" in saved["changes"]
    assert 79 not in counter_rows(server) and fee(server, "juminhyo") == before + 100
    # the city-wide admin: all of it, as a new version in the history
    saved = ok(admin.post(server.api(f"{A}/versions/{first}/rollback"), timeout=10,
                          json={"base_version": saved["version"]}))
    assert saved["changes"] == [f"rolled back to {first}",
                                f"catalog.procedures.juminhyo.fee_yen: {before + 100} → {before}"]
    assert fee(server, "juminhyo") == before
    rows = ok(admin.get(server.api(f"{A}/versions")))
    assert (rows[0]["action"], rows[0]["actor"]) == ("catalog.rolled_back", "admin")
    # stale base, unknown version, the wrong role
    r = admin.post(server.api(f"{A}/versions/{first}/rollback"), timeout=10,
                   json={"base_version": first})
    assert r.status_code == 409 and r.json()["error"] == "catalog_changed"
    assert admin.post(server.api(f"{A}/versions/9999/rollback"), json={},
                      timeout=10).status_code == 404
    assert server.session("supervisor").post(server.api(f"{A}/versions/{first}/rollback"),
                                             json={}, timeout=10).status_code == 403


def test_life_events_are_added_changed_and_removed(backoffice: Any) -> None:
    server = backoffice
    admin = server.session("admin")
    events = ok(admin.get(server.api(A)))["life_events"]["events"]
    tennyu = next(e for e in events if e["code"] == "tennyu")
    copy = {**tennyu, "name": "転入(複製)"}
    saved = ok(admin.put(server.api(f"{A}/life-events/tennyu2"), json={"event": copy},
                         timeout=10))
    assert saved["changes"] == ["life_events.events.tennyu2: added {…}"]
    r = admin.put(server.api(f"{A}/life-events/tennyu2"), timeout=10,
                  json={"event": {**copy, "items": [{"procedure": "no-such"}]}})
    assert r.status_code == 422, r.text
    ok(admin.delete(server.api(f"{A}/life-events/tennyu2"), timeout=10))
    assert admin.delete(server.api(f"{A}/life-events/tennyu2"), timeout=10).status_code == 404
    codes = [e["code"] for e in ok(admin.get(server.api(A)))["life_events"]["events"]]
    assert "tennyu2" not in codes and "tennyu" in codes
