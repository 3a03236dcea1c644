"""Deleting the residents' personal data the back-office no longer needs.

A ticket carries the application record the kiosk filled in (name, kana, address, birth
date, phone, ...; never the 個人番号). The counter needs it while the resident is served and
perhaps for a correction later that day; the city's statistics need only the ticket itself
(numbers, times, procedure, fee). So the record is deleted
- from a finished ticket (done, cancelled, no-show) once `[retention] finished_grace` has
  passed since it finished (default: the end of that office day), and
- from any ticket `[retention] max_days` after it was issued, whatever its state.

With it go the other traces of that data: staff notes in the ticket's audit trail (free
text that may name the resident) and the request hash kept for idempotent retries (a hash
of the body, so it could confirm a guessed name). Each purge writes a
`ticket.application_purged` event (when, why, by which rule; nothing personal) to the
ticket's audit trail. It is not pushed live: no screen shows the record. Notes on a ticket
that has no application record are deleted by the same rules (`ticket.notes_purged`).
With the data the ticket's phone status token ends too (`queue.status_ended`: the page then
says the ticket has ended).

`purge()` runs inside the server every `[retention] check_seconds` (`purge_loop`) and as
`ward-backoffice purge [--dry-run]`. Safe to run from several processes at once: rows are
locked (SKIP LOCKED on PostgreSQL, the write lock on SQLite) and re-checked.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, null, or_, select, text, tuple_, update

from kiosk.backoffice import clock, device_health
from kiosk.backoffice import models as m
from kiosk.backoffice.auth import purge_sessions
from kiosk.backoffice.config import DAY_END, RetentionSettings
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, safe_error, writing
from kiosk.backoffice.engine.audit import event_row
from kiosk.backoffice.engine.lookups import PURGED_HASH, UNPUBLISHED
from kiosk.sqlitewal import CHECKPOINT_WAIT_MS, truncate_wal

log = logging.getLogger(__name__)

T = m.tickets
E = m.ticket_events
FINAL_STATES = ("done", "cancelled", "no_show")
EVENT_TYPE = "ticket.application_purged"
NOTES_EVENT_TYPE = "ticket.notes_purged"  # a ticket without an application: its notes only
BATCH = 500
# How long the WAL checkpoint may wait for readers: it holds SQLite's write lock meanwhile,
# so every ticket issued then would wait too (the connections' busy timeout is 30 s).
# SQLite engines whose WAL may still hold purged values (a reader kept the checkpoint from
# completing): the next purge checkpoints again, even with nothing new to delete.
_wal_pending: weakref.WeakSet[Any] = weakref.WeakSet()


@dataclass(frozen=True)
class PurgeReport:
    finished: int = 0     # finished tickets whose grace had passed
    retention: int = 0    # tickets older than max_days
    notes: int = 0        # audit-trail notes removed with them
    dry_run: bool = False

    @property
    def tickets(self) -> int:
        return self.finished + self.retention

    def as_dict(self) -> dict[str, Any]:
        return {"finished": self.finished, "retention": self.retention, "notes": self.notes,
                "tickets": self.tickets, "dry_run": self.dry_run}


def finished_before(settings: RetentionSettings, now: datetime, tz: Any) -> datetime:
    """Tickets that finished before this (naive UTC) moment are past their grace."""
    if settings.finished_grace == DAY_END:
        today = clock.office_day(now, tz)
        return clock.to_utc(datetime.combine(today, time(0), tzinfo=tz))
    assert isinstance(settings.finished_grace, int)
    return now - timedelta(minutes=settings.finished_grace)


def issued_before(settings: RetentionSettings, now: datetime) -> datetime:
    return now - timedelta(days=settings.max_days)


def _finished_at() -> Any:
    """When the ticket last changed: for a finished ticket, when it finished. Reads of its
    data and earlier purges change nothing (else each read would put the purge off)."""
    return (select(func.max(E.c.at)).where(E.c.ticket_id == T.c.id,
                                           E.c.type.not_in(UNPUBLISHED))
            .correlate(T).scalar_subquery())


def _past_retention(bo: Backoffice, now: datetime) -> Any:
    """The ticket's personal data is due for deletion (finished and grace passed, or old)."""
    r = bo.settings.retention
    finished = and_(T.c.status.in_(FINAL_STATES),
                    _finished_at() < finished_before(r, now, bo.tz))
    return or_(finished, T.c.issued_at < issued_before(r, now))


_COLUMNS = (T.c.id, T.c.ward, T.c.service, T.c.label, T.c.status, T.c.priority, T.c.counter,
            T.c.recall_count, T.c.issued_at)


def _reason(row: Any, bo: Backoffice, now: datetime) -> tuple[str, str]:
    r = bo.settings.retention
    if row.status in FINAL_STATES and row.finished_at is not None \
            and row.finished_at < finished_before(r, now, bo.tz):
        return "finished", f"finished_grace={r.finished_grace}"
    return "retention", f"max_days={r.max_days}"


def purge(bo: Backoffice, *, now: datetime | None = None, dry_run: bool = False,
          by: str = "server") -> PurgeReport:
    """Delete the personal data that is due (see the module doc); count only if dry_run."""
    now = now or clock.utcnow()
    counts = {"finished": 0, "retention": 0, "notes": 0}
    # Tickets holding an application, in issue order: the walk stays within
    # ix_tickets_unpurged, however many purged tickets the statistics keep.
    with_application = (
        select(*_COLUMNS, _finished_at().label("finished_at"))
        .where(T.c.application.is_not(None), _past_retention(bo, now))
        .order_by(T.c.issued_at, T.c.id))
    for conn, rows in _batches(bo, with_application, dry_run):
        for row in rows:
            counts[_reason(row, bo, now)[0]] += 1
        counts["notes"] += len(_notes(conn, [r.id for r in rows], dry_run=dry_run))
        if not dry_run:
            _purge_rows(bo, conn, rows, now, by)
    # Tickets without one whose audit trail still holds staff notes (ix_ticket_events_note).
    noted = select(E.c.ticket_id).where(text(m.NOTE_SQL))
    only_notes = (select(*_COLUMNS, _finished_at().label("finished_at"))
                  .where(T.c.application.is_(None), T.c.id.in_(noted),
                         _past_retention(bo, now))
                  .order_by(T.c.issued_at, T.c.id))
    for conn, rows in _batches(bo, only_notes, dry_run):
        removed = _notes(conn, [r.id for r in rows], dry_run=dry_run)
        counts["notes"] += len(removed)
        # Only where a note went: on PostgreSQL a second purger can lock a ticket whose
        # notes the first has just removed (the ticket row itself is not updated, so its
        # lock does not make the second re-check), and must not record a second purge.
        events = [_event(bo, row, now, by, NOTES_EVENT_TYPE) for row in rows
                  if row.id in removed]
        if events and not dry_run:
            conn.execute(insert(E), events)
    report = PurgeReport(dry_run=dry_run, **counts)
    if dry_run:
        return report
    if report.tickets or report.notes:
        log.info("purged the application data of %d ticket(s) (%d finished, %d past %d days) "
                 "and %d audit-trail note(s)", report.tickets, report.finished,
                 report.retention, bo.settings.retention.max_days, report.notes)
        if not bo.is_pg:
            _wal_pending.add(bo.engine)
    if bo.engine in _wal_pending and _checkpoint(bo):
        _wal_pending.discard(bo.engine)
    return report


def _batches(bo: Backoffice, query: Any, dry_run: bool) -> Iterator[tuple[Connection, Any]]:
    """`query`'s rows BATCH at a time, each batch in its own transaction (locked for
    writing unless dry_run), paging on (issued_at, id)."""
    after: tuple[datetime, int] | None = None
    while True:
        with (reading if dry_run else writing)(bo.engine) as conn:
            if bo.is_pg:  # with stale statistics PostgreSQL would JIT-compile each batch
                conn.exec_driver_sql("SET LOCAL jit = off")
            page = query.limit(BATCH)
            if after is not None:
                page = page.where(tuple_(T.c.issued_at, T.c.id) > tuple_(*after))
            if bo.is_pg and not dry_run:
                page = page.with_for_update(of=T, skip_locked=True)
            rows = conn.execute(page).all()
            if not rows:
                return
            after = (rows[-1].issued_at, rows[-1].id)
            yield conn, rows


def _event(bo: Backoffice, row: Any, now: datetime, by: str, type_: str) -> dict[str, Any]:
    """The audit-trail row of a purge (as `queue.record` shapes events; nothing personal)."""
    reason, rule = _reason(row, bo, now)
    return event_row(bo, row, now, type_, {"reason": reason, "rule": rule, "by": by})


def _purge_rows(bo: Backoffice, conn: Connection, rows: Sequence[Any], now: datetime,
                by: str) -> None:
    by_reason: dict[str, list[int]] = {}
    for row in rows:
        by_reason.setdefault(_reason(row, bo, now)[0], []).append(row.id)
    for reason, ids in by_reason.items():
        # The rows are locked (or the database is), so each of them is updated here.
        conn.execute(update(T).where(T.c.id.in_(ids), T.c.application.is_not(None)).values(
            application=null(), application_purged_at=now, application_purge_reason=reason,
            request_hash=PURGED_HASH))
    conn.execute(insert(E), [_event(bo, row, now, by, EVENT_TYPE) for row in rows])


def _notes(conn: Connection, ids: list[int], *, dry_run: bool) -> list[int]:
    """Remove staff notes from these tickets' audit trails; the ticket of each note."""
    rows = conn.execute(select(E.c.id, E.c.ticket_id, E.c.data).where(
        E.c.ticket_id.in_(ids), E.c.data.like('%"note"%'))).all()
    removed: list[int] = []
    for r in rows:
        event = json.loads(r.data)
        data = event.get("data")
        if not isinstance(data, dict) or "note" not in data:
            continue
        removed.append(r.ticket_id)
        if not dry_run:
            del data["note"]
            data["note_purged"] = True
            conn.execute(update(E).where(E.c.id == r.id).values(
                data=json.dumps(event, ensure_ascii=False, separators=(",", ":"))))
    return removed


def _checkpoint(bo: Backoffice) -> bool:
    """SQLite: copy the purged pages into the database file and empty the WAL, so the old
    values do not linger in the -wal file (secure_delete zeroes them in the file). False
    when a reader (or a writer) kept it from completing within CHECKPOINT_WAIT_MS."""
    try:
        with bo.engine.connect() as conn:
            done = truncate_wal(conn.connection.dbapi_connection, CHECKPOINT_WAIT_MS)
    except Exception as exc:  # noqa: BLE001 — best effort; the next purge tries again
        log.warning("WAL checkpoint after the purge failed: %s", safe_error(exc))
        return False
    if not done:
        log.warning("WAL checkpoint after the purge did not complete (a reader was busy); "
                    "purged values stay in the -wal file until the next purge retries")
        return False
    return True


async def purge_loop(bo: Backoffice) -> None:
    """The server's periodic purge (every `[retention] check_seconds`, first at start-up):
    personal data past its retention, ended staff sessions (auth.purge_sessions) and device
    health history past [devices] history_days."""
    from kiosk.backoffice.periodic import run_every

    await run_every(bo, bo.settings.retention.check_seconds,
                    (("purging personal data", purge),
                     ("purging ended sessions", purge_sessions),
                     ("purging device history", device_health.prune)))

