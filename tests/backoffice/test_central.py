"""The central office's figures (kiosk.backoffice.central) from a known day of tickets,
on SQLite and on the private PostgreSQL cluster: the same SQL must give the same numbers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from kiosk.backoffice import central
from kiosk.backoffice import models as m
from kiosk.backoffice.db import make_engine, writing
from kiosk.configfile import load_catalog
from tests.support.backoffice import prepare_database

DAY = date(2026, 11, 20)
START = datetime(2026, 11, 20, 0, 0)  # 09:00 in Japan, stored as naive UTC
NOW = datetime(2026, 11, 20, 3, 0)
PERIOD = central.Period(DAY, DAY)


class Day:
    """Writes tickets and their audit trail straight into the tables, with known times."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.numbers: dict[tuple[str, str, date], int] = {}

    def ticket(self, ward: str, service: str, *, wait: int | None, status: str,
               procedure: str | None = None, issued: datetime = START, day: date = DAY,
               events: bool = True, recall_after: int | None = None) -> int:
        key = (ward, service, day)
        self.numbers[key] = number = self.numbers.get(key, 0) + 1
        called = issued + timedelta(seconds=wait) if wait is not None else None
        with writing(self.engine) as conn:
            ticket_id = conn.execute(insert(m.tickets).values(
                ward=ward, origin_service=service, service=service, day=day, number=number,
                label=f"{service[0].upper()}-{number:03d}", priority="normal", rank=1,
                language="ja", procedure=procedure, status=status, queue_at=issued,
                issued_at=issued, idempotency_key=uuid.uuid4().hex, request_hash="x",
                status_token=uuid.uuid4().hex,
                counter=1 if status in ("called", "serving") else None,
                # a recall moves called_at on: the wait must come from the first call
                called_at=called + timedelta(seconds=recall_after) if called and recall_after
                else called,
            ).returning(m.tickets.c.id)).scalar_one()
            calls = [called] if called and events else []
            if called and events and recall_after:
                calls.append(called + timedelta(seconds=recall_after))
            for at in calls:
                conn.execute(insert(m.ticket_events).values(
                    ticket_id=ticket_id, ward=ward, service=service, type="ticket.called",
                    at=at, counter=1, data="{}"))
        return int(ticket_id)


def known_day(engine: Engine) -> None:
    d = Day(engine)
    # kita, certificates (target 15 min): waits 1..10 min, 8 served, 2 no-shows, 1 cancelled
    for i in range(1, 11):
        d.ticket("kita", "certificates", wait=60 * i, status="done" if i <= 8 else "no_show",
                 procedure="juminhyo" if i % 2 else "koseki",
                 issued=START + timedelta(minutes=i), recall_after=3600 if i == 1 else None,
                 events=i != 2)  # ticket 2 has no trail: its called_at counts
    d.ticket("kita", "certificates", wait=None, status="cancelled")
    # kita, moving (target 30 min): 10, 20, 40, 50 min, all served
    for minutes in (10, 20, 40, 50):
        d.ticket("kita", "moving", wait=60 * minutes, status="done", procedure="tennyu")
    # naka, certificates: 1000 s, 100 s, 2000 s
    for wait in (1000, 100, 2000):
        d.ticket("naka", "certificates", wait=wait, status="done", procedure="juminhyo")
    # the day before and the day after: outside the period
    d.ticket("kita", "certificates", wait=30, status="done", day=DAY - timedelta(days=1),
             issued=START - timedelta(days=1))
    d.ticket("naka", "moving", wait=30, status="done", day=DAY + timedelta(days=1),
             issued=START + timedelta(days=1))
    # waiting now (NOW = 12:00 JST): 5 and 20 minutes in kita certificates, 1 called
    d.ticket("kita", "certificates", wait=None, status="waiting",
             issued=NOW - timedelta(minutes=5))
    d.ticket("kita", "certificates", wait=None, status="waiting",
             issued=NOW - timedelta(minutes=20))
    d.ticket("kita", "family", wait=None, status="waiting", issued=NOW - timedelta(minutes=2))
    d.ticket("kita", "moving", wait=60, status="called", issued=NOW - timedelta(minutes=3))
    with writing(engine) as conn:
        conn.execute(update(m.counters).where(m.counters.c.ward == "kita",
                                              m.counters.c.number.in_((1, 3)))
                     .values(is_open=True))


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'central.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    prepare_database(url)
    eng = make_engine(url, pool_size=2)
    known_day(eng)
    try:
        yield eng
    finally:
        eng.dispose()


def by(items: list[dict[str, Any]], key: str, value: str | None) -> dict[str, Any]:
    return next(i for i in items if i[key] == value)


def test_period_figures_of_a_known_day(engine: Engine) -> None:
    fig = central.period_figures(engine, load_catalog(), PERIOD)
    assert (fig["from"], fig["to"]) == ("2026-11-20", "2026-11-20")
    kita = by(fig["wards"], "ward", "kita")
    cert = by(kita["services"], "service", "certificates")
    # the 4 tickets still waiting/called count as issued in the period too
    assert cert == {
        "service": "certificates", "target_wait_seconds": 900, "issued": 13, "served": 8,
        "no_shows": 2, "cancelled": 1, "called": 10, "mean_wait_seconds": 330,
        "p90_wait_seconds": 540, "within_target": 10, "within_target_share": 1.0}
    moving = by(kita["services"], "service", "moving")
    assert (moving["issued"], moving["served"], moving["called"]) == (5, 4, 5)
    # waits 60, 600, 1200, 2400, 3000 → mean 1452, nearest-rank p90 = 5th = 3000
    assert (moving["mean_wait_seconds"], moving["p90_wait_seconds"]) == (1452, 3000)
    assert (moving["within_target"], moving["within_target_share"]) == (3, 0.6)
    family = by(kita["services"], "service", "family")
    assert (family["issued"], family["called"], family["p90_wait_seconds"]) == (1, 0, None)
    assert family["within_target_share"] is None
    assert by(kita["services"], "service", "insurance")["issued"] == 0
    # ward totals: 15 waits; p90 = 14th smallest = 2400; within 10 + 3 of 15
    assert (kita["issued"], kita["served"], kita["no_shows"], kita["called"]) == (19, 12, 2, 15)
    assert kita["mean_wait_seconds"] == round((3300 + 60 + 600 + 1200 + 2400 + 3000) / 15)
    assert kita["p90_wait_seconds"] == 2400
    assert kita["within_target_share"] == round(13 / 15, 4)
    juminhyo = by(kita["procedures"], "procedure", "juminhyo")
    assert (juminhyo["issued"], juminhyo["mean_wait_seconds"]) == (5, 300)  # 1,3,5,7,9 min
    assert by(kita["procedures"], "procedure", None)["issued"] == 5  # no procedure recorded
    naka = by(fig["wards"], "ward", "naka")
    ncert = by(naka["services"], "service", "certificates")
    assert (ncert["issued"], ncert["mean_wait_seconds"], ncert["p90_wait_seconds"]) \
        == (3, 1033, 2000)
    assert ncert["within_target_share"] == round(1 / 3, 4)
    assert by(naka["services"], "service", "moving")["issued"] == 0  # the next day's ticket


def test_a_longer_period_takes_in_the_other_days(engine: Engine) -> None:
    fig = central.period_figures(engine, load_catalog(),
                                 central.Period(DAY - timedelta(days=1), DAY + timedelta(days=1)))
    assert by(fig["wards"], "ward", "kita")["issued"] == 20
    assert by(fig["wards"], "ward", "naka")["issued"] == 4


def test_now_figures(engine: Engine) -> None:
    now = {w["ward"]: w for w in central.now_figures(engine, load_catalog(), NOW)}
    kita = now["kita"]
    assert (kita["waiting"], kita["longest_wait_seconds"], kita["at_counters"]) == (3, 1200, 1)
    assert (kita["counters_open"], kita["counters"]) == (2, 5)
    cert = by(kita["services"], "service", "certificates")
    assert (cert["waiting"], cert["longest_wait_seconds"], cert["counters_open"]) == (2, 1200, 1)
    assert by(kita["services"], "service", "moving")["counters_open"] == 1
    assert by(kita["services"], "service", "insurance")["counters_open"] == 0
    assert (now["naka"]["waiting"], now["naka"]["longest_wait_seconds"]) == (0, None)


def test_flat_rows_cover_wards_services_and_procedures(engine: Engine) -> None:
    rows = central.flat_rows(central.period_figures(engine, load_catalog(), PERIOD))
    assert rows[0]["kind"] == "ward" and rows[0]["ward"] == "kita"
    assert {r["kind"] for r in rows} == {"ward", "service", "procedure"}
    assert all(set(r) == set(central.COLUMNS) for r in rows)


def test_period_is_checked() -> None:
    with pytest.raises(ValueError, match="before"):
        central.Period(DAY, DAY - timedelta(days=1))
    with pytest.raises(ValueError, match="at most"):
        central.Period(DAY, DAY + timedelta(days=400))


def test_bench_central_quick_runs() -> None:
    """The benchmark works (its figures are read from its output, never asserted here)."""
    import json
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "tests/bench/bench_central.py", "--quick"], cwd=repo,
                         capture_output=True, text=True, timeout=240, check=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["bench"] == "central" and figures["sqlite_tickets"] == 500
    assert figures["sqlite_day_ms"] > 0


def test_who_may_see_every_ward() -> None:
    """The central view is city-wide: the central role and a city-wide admin; not an
    admin, supervisor or clerk of one ward."""
    from kiosk.backoffice.auth import Principal

    def may(role: str, ward: str | None) -> bool:
        return Principal("staff", ward, username="u", role=role).has_role("central")

    assert may("central", None) and may("admin", None)
    assert not may("admin", "kita")
    assert not may("supervisor", None) and not may("staff", "kita")
