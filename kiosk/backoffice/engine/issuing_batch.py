"""PostgreSQL: a batch of online tickets issued by one set-based statement (pgbatch.py).

The batch's requests arrive as one typed array per column (`COLUMNS`, bound with the
extended protocol; the statement text never changes, so psycopg prepares it once per
connection). One statement, one implicit transaction:

- each (ward, service, day) number row is bumped **once**, by the count of its tickets,
  the rows taken in (ward, service, day) order — the order every batch of every process
  locks them in (pgbatch.lock_key: two batches taking two services' rows in opposite
  orders deadlocked);
- the tickets get consecutive numbers in the order they were given (the caller sorts them
  by lock_key, keeping arrival order within a row), then their `ticket.issued` events (the
  text `issuing.issued_event` built, id and number set as `ISSUE_PG` sets them) and, in the
  `shown` variant, the estimate answered (as `ISSUE_PG_SHOWN` stores it);
- each ticket's people ahead are those `ISSUE_PG` would count had the batch's tickets been
  issued one statement each in that order: the queue before the batch (`waiting_counts`,
  less same-rank tickets queued later) plus the batch's earlier tickets of the same queue
  with a rank before ours, or ours and queued no later;
- the events are NOTIFYed as JSON arrays of the events a single notification carries
  (`issuing.PG_EVENT`), as few as fit NOTIFY's payload limit (`events.listen_postgres`
  publishes each element).

Nothing of a failed batch is kept (one statement); the caller then issues each alone.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from kiosk.backoffice.engine.issuing import _TICKET_COLUMNS, PG_EVENT

# the request columns and their array types; `shown` adds SHOWN_COLUMNS
COLUMNS = {
    "ward": "varchar", "service": "varchar", "day": "date", "prefix": "varchar",
    "priority": "varchar", "rank": "integer", "language": "varchar", "procedure": "varchar",
    "application": "text", "fee_yen": "integer", "queue_at": "timestamp",
    "issued_at": "timestamp", "key": "varchar", "digest": "varchar", "token": "varchar",
    "block_id": "integer", "device_id": "integer", "staff_id": "integer", "actor": "varchar",
    "at": "timestamp", "event": "text"}
SHOWN_COLUMNS = {"method": "varchar", "mean": "float8", "capacity": "float8"}
# scalars, the same for every ticket of a batch
SCALARS = ("off_first", "off_span", "channel")
# a NOTIFY payload must be shorter than 8,000 bytes: the events go in arrays cut so that
# each stays below this (an event longer than the rest allows goes alone; one whose own
# notification would not fit fails the batch, as it fails ISSUE_PG)
PAYLOAD_BYTES = 7900


def _columns(shown: bool) -> dict[str, str]:
    return {**COLUMNS, **SHOWN_COLUMNS} if shown else COLUMNS


def array_literal(values: list[Any]) -> str:
    """`values` as the text of a PostgreSQL array (the statement casts it to its type);
    ValueError for a value this does not write. psycopg dumps a list by a regular
    expression per element and looks its dumper up anew for every cursor: 7× the CPU of
    this (docs/backoffice.md, "speed4")."""
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif isinstance(v, str) and "\x00" not in v:
            out.append('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(v, int) and not isinstance(v, bool):
            out.append(str(v))
        elif isinstance(v, float) and math.isfinite(v):
            out.append(repr(v))
        elif isinstance(v, datetime) and v.tzinfo is None:  # stored times are naive UTC
            out.append(f'"{v.isoformat()}"')
        elif isinstance(v, date) and not isinstance(v, datetime):
            out.append(f'"{v.isoformat()}"')
        else:
            raise ValueError(f"no array element for a {type(v).__name__}")
    return "{" + ",".join(out) + "}"


def params(items: list[dict[str, Any]], shown: bool) -> dict[str, Any]:
    """The bound parameters of a batch: one array per column, in the order of `items`."""
    out: dict[str, Any] = {c: array_literal([item[c] for item in items])
                           for c in _columns(shown)}
    first = items[0]
    for name in SCALARS:
        if any(item[name] != first[name] for item in items):
            raise ValueError(f"a batch's {name} differs between its tickets")
        out[name] = first[name]
    return out


def sql(shown: bool) -> str:
    """The statement (psycopg's `%(name)s` style; under the 4,096 characters psycopg caches
    the parsing of); rows: (ord, id, number, label, ahead, event id, NOTIFYs) in the order
    of the items, ord counted from 1."""
    cols = _columns(shown)
    # (psycopg parses a statement longer than 4,096 characters anew on every execute)
    arrays = ", ".join(f"%({c})s::{t}[]" for c, t in cols.items())
    estimate = (
        "sh AS (INSERT INTO ticket_estimates (ticket_id, ward, service, stage, at, source, "
        "method, people_ahead, estimate_seconds) SELECT a.id, r.ward, r.service, 0, "
        "r.issued_at, 'issue', r.method, a.ahead, round((a.ahead::float8 + 0.5) * r.mean "
        "/ r.capacity)::integer FROM a JOIN r USING (ord) ORDER BY a.ord), "
    ) if shown else ""
    number = "(CASE WHEN n.c < %(off_first)s THEN n.c ELSE n.c + %(off_span)s END)"
    return " ".join([
        # the names, types and expressions are this module's constants; values are bound
        f"WITH r AS (SELECT * FROM unnest({arrays}) WITH ORDINALITY",  # noqa: S608
        f"AS r({', '.join(cols)}, ord)),",
        "seq AS (INSERT INTO ticket_sequences (ward, service, day, last)",
        "SELECT ward, service, day, count(*) FROM r GROUP BY ward, service, day",
        "ORDER BY ward, service, day ON CONFLICT (ward, service, day)",
        "DO UPDATE SET last = ticket_sequences.last + excluded.last",
        "RETURNING ward, service, day, last),",
        # c: the ticket's place in its number row's sequence
        "n AS (SELECT r.ord, seq.last - count(*) OVER p + row_number() OVER (p ORDER BY r.ord)",
        "AS c FROM r JOIN seq USING (ward, service, day)",
        "WINDOW p AS (PARTITION BY ward, service, day)),",
        "nl AS (SELECT n.ord, ", number, "AS number FROM n),",
        f"t AS (INSERT INTO tickets ({_TICKET_COLUMNS}) SELECT r.ward, r.service, r.service,",
        "r.day, nl.number, r.prefix || '-' || CASE WHEN nl.number < 1000 THEN",
        "lpad(nl.number::text, 3, '0') ELSE nl.number::text END, r.priority, r.rank,",
        "r.language, r.procedure, CAST(r.application AS JSON), r.fee_yen, 'none', 'waiting',",
        "r.queue_at, r.issued_at, 0, r.key, r.digest, r.token, false, r.block_id, r.device_id,",
        "r.staff_id FROM r JOIN nl USING (ord) ORDER BY r.ord",
        "RETURNING id, number, label, idempotency_key),",
        "tr AS (SELECT r.ord, t.id, t.number, t.label FROM t JOIN r ON r.key = t.idempotency_key),",
        "ev AS (INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, device_id,",
        "counter, data) SELECT tr.id, r.ward, r.service, 'ticket.issued', r.at, r.actor,",
        "r.device_id, NULL, jsonb_set(jsonb_set(CAST(r.event AS jsonb), '{ticket,id}',",
        "to_jsonb(tr.id)), '{ticket,number}', to_jsonb(tr.label))::text",
        "FROM tr JOIN r USING (ord) ORDER BY tr.ord RETURNING id, ticket_id, xid, data),",
        "a AS (SELECT tr.ord, tr.id, tr.number, tr.label,",
        "(SELECT coalesce(sum(w.n), 0) FROM waiting_counts w WHERE w.ward = r.ward",
        "AND w.service = r.service AND w.rank <= r.rank)",
        "- (SELECT count(*) FROM tickets w WHERE w.ward = r.ward AND w.service = r.service",
        "AND w.status = 'waiting' AND w.rank = r.rank AND w.queue_at > r.queue_at)",
        "+ (SELECT count(*) FROM r e WHERE e.ord < r.ord AND e.ward = r.ward",
        "AND e.service = r.service AND (e.rank < r.rank OR (e.rank = r.rank",
        "AND e.queue_at <= r.queue_at))) AS ahead FROM tr JOIN r USING (ord)),",
        estimate,
        f"pe AS (SELECT ev.id, {PG_EVENT} AS body FROM ev),",  # noqa: S608
        # cut where an event would start past the room left for the longest one
        "pc AS (SELECT id, body, (sum(octet_length(body) + 1) OVER (ORDER BY id)",
        f"- octet_length(body) - 1) / greatest({PAYLOAD_BYTES} - max(octet_length(body))",
        "OVER (), 1)",
        "AS chunk FROM pe),",
        "note AS (SELECT pg_notify(%(channel)s, '[' || string_agg(body, ',' ORDER BY id) || ']')",
        "FROM pc GROUP BY chunk)",
        "SELECT a.ord, a.id, a.number, a.label, a.ahead, ev.id AS event_id,",
        "(SELECT count(*) FROM note) AS notes FROM a JOIN ev ON ev.ticket_id = a.id",
        "ORDER BY a.ord"])
