"""The wait estimates shown to residents, kept to measure them (issue #22).

What is stored is what the server served: the estimate in the answer to the issuing kiosk
(`source="issue"`) and the estimate in a phone status answer (`source="status"`: GET
/status/{token}, the phone page that reads it, and a status stream's opening snapshot)
whenever the minutes it shows changed since the last one stored for that ticket and stage —
a page polling every few seconds adds a row only when what the resident sees changes — and
the estimate in a `position` message sent down an open status stream (`source="stream"`,
positions.py), on the same rule, all of one queue update in one INSERT.
When the ticket is called in that queue, `actual_seconds` of its rows is written: the time
from each estimate to the call. Tickets never called (cancelled, left) keep NULL and are not
counted. Numbers only; no personal data.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, DateTime, bindparam, insert, text

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, writing
from kiosk.backoffice.engine.lookups import service_estimate
from kiosk.backoffice.estimate import ServiceEstimate

E = m.ticket_estimates


class LastShown:
    """The minutes last stored per (ticket, stage), bounded (oldest forgotten first)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._lock = threading.Lock()

    def changed(self, key: tuple[int, int], minutes: int) -> bool:
        """True (and remembered) when `minutes` differs from the last stored for `key`."""
        with self._lock:
            if self._items.get(key) == minutes:
                return False
            self._items[key] = minutes
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return True

    def forget(self, keys: list[tuple[int, int]]) -> None:
        """These were not stored after all (their INSERT failed): the next one is."""
        with self._lock:
            for key in keys:
                self._items.pop(key, None)


_last: dict[int, LastShown] = {}


def _last_shown(bo: Backoffice) -> LastShown:
    return _last.setdefault(id(bo), LastShown())


def shown_minutes(seconds: int) -> int:
    """As the phone page words it (web/phone.py wait_text): 0 is "まもなく"."""
    return 0 if seconds < 60 else math.ceil(seconds / 60)


def values(row: Any, ahead: int, served: Any, source: str, at: datetime) -> dict[str, Any]:
    wait = served.wait_seconds(ahead)
    span = served.wait_range(ahead)
    return {"ticket_id": row.id, "ward": row.ward, "service": row.service,
            "stage": getattr(row, "stage", None) or 0, "at": at, "source": source,
            "method": served.method, "people_ahead": ahead, "estimate_seconds": wait,
            "low_seconds": span[0] if span else None, "high_seconds": span[1] if span else None}


def issue_values(bo: Backoffice, row: Any, ahead: int,
                 conn: Connection | None = None) -> tuple[Any, dict[str, Any]]:
    """The served estimate of a ticket just issued and its row to store."""
    served = service_estimate(bo, bo.catalog.wards[row.ward], row.service, conn)
    v = values(row, ahead, served, "issue", row.issued_at)
    _last_shown(bo).changed((row.id, v["stage"]), shown_minutes(v["estimate_seconds"]))
    return served, v


def in_sql(served: Any) -> dict[str, Any] | None:
    """The bound parameters with which `engine.issuing.ISSUE_PG_SHOWN` stores the estimate
    of a ticket it issues, when `served` computes a wait by arithmetic alone (the "learned"
    estimate.ServiceEstimate, no range); None when it is stored by its own INSERT."""
    if type(served) is not ServiceEstimate:
        return None
    return {"method": served.method, "mean": float(served.mean_service_seconds),
            "capacity": served.capacity if served.capacity > 0 else 1.0}


def stored_in_sql(bo: Backoffice, row: Any, ahead: int, served: Any) -> None:
    """What ISSUE_PG_SHOWN stored, remembered as `issue_values` remembers it."""
    _last_shown(bo).changed((row.id, 0), shown_minutes(served.wait_seconds(ahead)))


def record_issue(bo: Backoffice, conn: Connection, row: Any, ahead: int) -> Any:
    """In the issuing transaction: store the estimate the kiosk's answer carries; return it
    (the answer is built from the same one)."""
    served, v = issue_values(bo, row, ahead, conn)
    _INSERT_RAW.run(conn, v)
    return served


COLUMNS = ("ticket_id", "ward", "service", "stage", "at", "source", "method", "people_ahead",
           "estimate_seconds", "low_seconds", "high_seconds")
# The same INSERT with named parameters, for the PostgreSQL hot path (fastpath.py).
INSERT = insert(E).values({c: bindparam(c) for c in COLUMNS})
_INSERT_RAW = Prepared(INSERT)


def record_status(bo: Backoffice, row: Any, ahead: int, served: Any) -> None:
    """A status answer's estimate, stored when the minutes shown changed."""
    v = values(row, ahead, served, "status", utcnow())
    if not _last_shown(bo).changed((row.id, v["stage"]), shown_minutes(v["estimate_seconds"])):
        return
    with writing(bo.engine) as conn:
        conn.execute(INSERT, v)


class Placed(NamedTuple):
    """What `values` needs of a ticket whose place was read (not a whole ticket row)."""

    id: int
    ward: str
    service: str
    stage: int | None


def stream_values(bo: Backoffice, ticket: Placed, ahead: int, wait_seconds: int, served: Any,
                  at: datetime) -> dict[str, Any] | None:
    """The row of a `position` message sent with `wait_seconds`, or None when the minutes
    it shows are those last stored for the ticket and stage (by any source)."""
    key = (ticket.id, ticket.stage or 0)
    if not _last_shown(bo).changed(key, shown_minutes(wait_seconds)):
        return None
    return values(ticket, ahead, served, "stream", at)


# PostgreSQL: the batch as one array per column, unnested by one INSERT whose text never
# changes (a multi-row VALUES would be compiled anew for every batch size: 100 ms for 150
# rows, holding the GIL the event loop needs). Also the hot path's "clerk" estimates
# (fastpath.py, pgbatch.RowBatcher).
_PG_TYPES = {"ticket_id": "bigint", "ward": "varchar", "service": "varchar",
             "stage": "integer", "at": "timestamp", "source": "varchar", "method": "varchar",
             "people_ahead": "integer", "estimate_seconds": "integer", "low_seconds": "integer",
             "high_seconds": "integer"}
UNNEST = text(  # the column names and types are the constants above; the values are bound
    f"INSERT INTO ticket_estimates ({', '.join(COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    + ", ".join(f"CAST(:{c} AS {_PG_TYPES[c]}[])" for c in COLUMNS) + ")")


def record_stream(bo: Backoffice, rows: list[dict[str, Any]]) -> None:
    """One queue update's stream estimates in one transaction and one statement: on
    PostgreSQL one INSERT of the unnested columns, on SQLite the cached INSERT run by the
    driver's executemany (in-process, no round trips)."""
    if not rows:
        return
    try:
        with writing(bo.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(UNNEST, {c: [r[c] for r in rows] for c in COLUMNS})
            else:
                conn.execute(INSERT, rows)
    except Exception:
        _last_shown(bo).forget([(r["ticket_id"], r["stage"]) for r in rows])
        raise


_ELAPSED = {
    "postgresql": "CAST(round(EXTRACT(EPOCH FROM (:now - at))) AS INTEGER)",
    "sqlite": "CAST(round((julianday(:now) - julianday(at)) * 86400) AS INTEGER)",
}


def _called_sql(dialect: str) -> Any:
    # the expression is one of two constants above; the values are bound
    return text(f"UPDATE ticket_estimates SET actual_seconds = {_ELAPSED[dialect]} "  # noqa: S608
                "WHERE ticket_id = :ticket AND stage = :stage AND actual_seconds IS NULL"
                ).bindparams(bindparam("now", type_=DateTime))


_CALLED = {d: Prepared(_called_sql(d)) for d in _ELAPSED}


def record_called(conn: Connection, ticket_id: int, stage: int | None, now: datetime) -> None:
    """In the calling transaction: the actual wait of every estimate of this queue stay
    (a recall or a second call later finds them written and leaves them)."""
    _CALLED[conn.dialect.name].run(conn, {"now": now, "ticket": ticket_id,
                                          "stage": stage or 0})
