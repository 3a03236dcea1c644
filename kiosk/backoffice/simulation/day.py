"""What a simulated ward day is: arrivals and counter shifts; the trace CSV.

Trace CSV (UTF-8, a header row, one row per arrival; docs/statistics.md §Trace):

    time,ward,service,procedure,service_minutes,no_show,appointment
    09:02:10,kita,certificates,juminhyo,4.5,0,0
    09:03:00,kita,life:tennyu,tennyu+kokuho_kanyu+juminhyo,14+9+4,0,0

- time: local HH:MM[:SS] of the arrival at the kiosk;
- service: the queue's code, or `life:<event>` for a life-event visit routed across queues;
- procedure: the procedure code; for a life event the procedures joined by `+`, in route
  order (consecutive procedures of one service are one stage);
- service_minutes: minutes at the counter (`+`-joined per procedure for a life event);
- no_show: 1 when the resident is not there when called; appointment: 1 for a booked visit
  (the `appointment` priority).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from kiosk.domain.catalog import Catalog


class TraceError(ValueError):
    """A trace row that cannot be replayed (the message names the line and column)."""


@dataclass(frozen=True)
class Arrival:
    at: float                                     # seconds after opening
    ward: str
    stages: tuple[tuple[str, tuple[str, ...]], ...]  # (service, procedures) in route order
    minutes: tuple[float, ...]                    # at the counter, per stage
    no_show: bool = False
    priority: str = "normal"                      # normal | priority | appointment | assistance
    life_event: str | None = None

    @property
    def routed(self) -> bool:
        return len(self.stages) > 1 or self.life_event is not None


@dataclass(frozen=True)
class Shift:
    """Counter `number` (serving `services`) is open from `start` to `end` (seconds after
    opening). The day's last shift of a counter ends softly: it serves on while tickets of
    its services wait (nobody holding a ticket is sent home)."""

    number: int
    services: tuple[str, ...]
    start: float
    end: float


@dataclass
class Day:
    ward: str
    date: date
    opens: time
    closes: time
    arrivals: list[Arrival]
    shifts: list[Shift] = field(default_factory=list)
    name: str = "day"

    @property
    def open_seconds(self) -> float:
        return ((self.closes.hour - self.opens.hour) * 3600
                + (self.closes.minute - self.opens.minute) * 60)


def stages_of(catalog: Catalog, procedures: Iterable[str], minutes: Iterable[float]
              ) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[float, ...]]:
    """Consecutive procedures of one service make one stage (as the kiosk routes them)."""
    stages: list[tuple[str, list[str]]] = []
    per_stage: list[float] = []
    for code, mins in zip(procedures, minutes, strict=True):
        service = catalog.procedures[code].service
        if stages and stages[-1][0] == service:
            stages[-1][1].append(code)
            per_stage[-1] += mins
        else:
            stages.append((service, [code]))
            per_stage.append(mins)
    return tuple((s, tuple(p)) for s, p in stages), tuple(per_stage)


def _clock(text: str, opens: time) -> float:
    parts = [int(p) for p in text.strip().split(":")]
    if len(parts) not in (2, 3) or not 0 <= parts[0] < 24 or not 0 <= parts[1] < 60:
        raise ValueError(text)
    h, mi, sec = ([*parts, 0])[:3]
    return (h - opens.hour) * 3600 + (mi - opens.minute) * 60 + sec


COLUMNS = ("time", "ward", "service", "procedure", "service_minutes", "no_show", "appointment")


def _row(catalog: Catalog, row: dict[str, str], opens: time, line: int) -> Arrival:
    def bad(column: str, why: str) -> TraceError:
        return TraceError(f"line {line}, column {column}: {why}")

    try:
        at = _clock(row["time"], opens)
    except ValueError:
        raise bad("time", f"{row['time']!r} is not HH:MM[:SS]") from None
    ward = row["ward"].strip()
    if ward not in catalog.wards:
        raise bad("ward", f"no ward {ward!r}")
    procs = [p.strip() for p in row["procedure"].split("+") if p.strip()]
    for p in procs:
        if p not in catalog.procedures:
            raise bad("procedure", f"no procedure {p!r}")
    try:
        mins = [float(x) for x in row["service_minutes"].split("+")]
    except ValueError:
        raise bad("service_minutes", f"{row['service_minutes']!r} is not minutes") from None
    if len(mins) != len(procs) or any(not 0 < x < 600 for x in mins):
        raise bad("service_minutes", "one positive number of minutes per procedure")
    service = row["service"].strip()
    event = service[5:] if service.startswith("life:") else None
    if event is None:
        if service not in catalog.services:
            raise bad("service", f"no service {service!r}")
        if len(procs) != 1 or catalog.procedures[procs[0]].service != service:
            raise bad("procedure", f"one procedure of service {service!r}")
    stages, per_stage = stages_of(catalog, procs, mins)
    flags = {}
    for column in ("no_show", "appointment"):
        value = row[column].strip()
        if value not in ("0", "1", ""):
            raise bad(column, "0 or 1")
        flags[column] = value == "1"
    return Arrival(at, ward, stages, per_stage, flags["no_show"],
                   "appointment" if flags["appointment"] else "normal", event)


def read_trace(path: Path, catalog: Catalog, opens: time) -> list[Arrival]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TraceError(f"line 1: missing column(s) {', '.join(missing)}")
        out = [_row(catalog, row, opens, i) for i, row in enumerate(reader, start=2)]
    return sorted(out, key=lambda a: a.at)


def write_trace(path: Path, arrivals: Iterable[Arrival], opens: time) -> None:
    """A day as a trace CSV (what `read_trace` reads back)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for a in arrivals:
            secs = round(opens.hour * 3600 + opens.minute * 60 + a.at)
            procs = [p for _, ps in a.stages for p in ps]
            # per procedure: a stage's minutes are split evenly over its procedures
            mins = [m / len(ps) for (_, ps), m in zip(a.stages, a.minutes, strict=True)
                    for _ in ps]
            w.writerow([f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}", a.ward,
                        f"life:{a.life_event}" if a.life_event else a.stages[0][0],
                        "+".join(procs), "+".join(f"{m:.2f}" for m in mins),
                        int(a.no_show), int(a.priority == "appointment")])


def describe(day: Day) -> dict[str, Any]:
    return {"name": day.name, "ward": day.ward, "date": day.date.isoformat(),
            "visitors": len(day.arrivals), "counters": len({s.number for s in day.shifts})}
