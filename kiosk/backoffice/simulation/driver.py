"""Replays a ward day through the real back-office engine on a simulated clock.

A discrete-event simulation: every issue, call, start, completion, no-show and counter
opening goes through `kiosk.backoffice.engine` on a real database (SQLite or PostgreSQL), so
the queue order, the stages of a routed visit and the served estimate are the engine's own;
`clock.simulated` makes the engine's `utcnow()` the simulation's time (no sleeping). The
driver plays the counters: a free, open counter calls the next ticket of its services (only
when its own bookkeeping says one waits, to spare empty calls), the resident walks `walk`
seconds to it, is served for the arrival's minutes; a no-show is marked after `grace`.
The bench tests/bench/bench_life_event_day.py and the simulator both drive days with it.
"""

from __future__ import annotations

import heapq
import itertools
import time as wall
import uuid
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from kiosk.backoffice.clock import simulated, to_utc
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.engine import actions
from kiosk.backoffice.engine.issuing import TicketRequest, issue
from kiosk.backoffice.principal import Principal
from kiosk.backoffice.seed import sync_catalog
from kiosk.backoffice.simulation.day import Arrival, Day, Shift
from kiosk.domain.catalog import Counter


class Observer(Protocol):
    def issued(self, driver: Driver, ticket: dict[str, Any], arrival: Arrival) -> None: ...


@dataclass
class Visit:
    arrival: Arrival
    ticket: int = 0
    issued: float = 0.0
    done: float | None = None
    waits: list[float] = field(default_factory=list)       # per stage, arrival to call
    index: int = 0          # the stage being done (one ticket per stage: `reticket`)
    tickets: list[int] = field(default_factory=list)


@dataclass
class CounterState:
    number: int
    services: tuple[str, ...]
    open: bool = False
    busy: bool = False
    closing: bool = False
    last_end: float = 0.0   # its last shift's end (a soft close)
    busy_seconds: float = 0.0
    open_seconds: float = 0.0
    opened_at: float = 0.0
    busy_since: float = 0.0


def use_counters(bo: Backoffice, ward: str, shifts: Iterable[Shift]) -> None:
    """The ward's counters as the day's shifts say (in the catalog and the database)."""
    services: dict[int, tuple[str, ...]] = {}
    for s in shifts:
        services[s.number] = s.services
    counters = tuple(Counter(n, f"{n} 番窓口", svc) for n, svc in sorted(services.items()))
    w = bo.catalog.wards[ward]
    bo.catalog = replace(bo.catalog, wards={**bo.catalog.wards,
                                            ward: replace(w, counters=counters)})
    sync_catalog(bo.engine, bo.catalog)
    bo.estimates.clear()


class Driver:
    def __init__(self, bo: Backoffice, day: Day, *, walk: float = 30.0, grace: float = 180.0,
                 observers: Iterable[Observer] = (),
                 issue_visit: Callable[[Driver, Visit], dict[str, Any]] | None = None,
                 know_schedule: bool = True, reticket: float | None = None) -> None:
        """`reticket`: instead of one routed ticket, each stage is a new ticket taken at the
        kiosk that many seconds after the previous stage is done (as before routed visits)."""
        self.bo, self.day, self.walk, self.grace = bo, day, walk, grace
        self.reticket = reticket
        # the clerk estimate may read the day's counter schedule (a roster known ahead)
        bo.counter_schedule = schedule_of(self) if know_schedule else None
        self.observers = list(observers)
        self.issue_visit = issue_visit or Driver.issue_routed
        local = datetime.combine(day.date, day.opens, tzinfo=bo.tz)
        self.opening = to_utc(local.astimezone(UTC))
        self.now = 0.0
        self.heap: list[tuple[float, int, str, Any]] = []
        self.seq = 0
        self.counters: dict[int, CounterState] = {}
        for s in day.shifts:
            c = self.counters.setdefault(s.number, CounterState(s.number, s.services))
            c.last_end = max(c.last_end, s.end)
        self.waiting: Tally[str] = Tally()                 # tickets waiting per service
        self.by_ticket: dict[int, Visit] = {}
        self.joined: dict[tuple[int, int], float] = {}   # (ticket, stage) -> joined its queue
        self.visits: list[Visit] = []
        self.ops = 0
        self.clerk = Principal("staff", day.ward, username="sim-clerk", role="staff")
        self.issuer = Principal("staff", day.ward, username="sim-kiosk", role="staff")
        self._cleared = 0.0
        self.wall_seconds = 0.0
        self.cpu_seconds = 0.0  # this process's CPU time for the replay (load changes it less)

    # -- the clock and the event heap
    def clock(self) -> datetime:
        return self.opening + timedelta(seconds=self.now)

    def push(self, at: float, kind: str, data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, data))

    # -- the engine calls
    def issue_routed(self, v: Visit) -> dict[str, Any]:
        a = v.arrival
        if self.reticket is not None:  # one ticket for this stage alone
            service, procedures = a.stages[v.index]
            req = TicketRequest(ward=a.ward, service=service,
                                procedure=procedures[0] if procedures else None,
                                application=None, priority=a.priority, language="ja")
        elif a.routed:
            route = [{"service": s, "procedures": list(p)} for s, p in a.stages]
            req = TicketRequest(ward=a.ward, service=None, procedure=None, application=None,
                                priority=a.priority, language="ja", route=route,
                                life_event=a.life_event)
        else:
            service, procedures = a.stages[0]
            req = TicketRequest(ward=a.ward, service=service,
                                procedure=procedures[0] if procedures else None,
                                application=None, priority=a.priority, language="ja")
        ticket, _ = issue(self.bo, self.issuer, req, uuid.uuid4().hex, "")
        return ticket

    def stage_of(self, ticket: dict[str, Any]) -> int:
        return int(ticket.get("stage") or 1)

    def _arrive(self, a: Arrival) -> None:
        v = Visit(a, issued=self.now)
        self.visits.append(v)
        self._issue(v)

    def _issue(self, v: Visit) -> None:
        a = v.arrival
        ticket = self.issue_visit(self, v)
        self.ops += 1
        v.ticket = ticket["id"]
        v.tickets.append(v.ticket)
        self.by_ticket[v.ticket] = v
        self.joined[(v.ticket, 1)] = self.now
        self.waiting[ticket["service"]] += 1
        for o in self.observers:
            o.issued(self, ticket, a)

    def _shift(self, number: int, opening: bool) -> None:
        c = self.counters[number]
        if opening:
            c.closing = False
            if not c.open:
                actions.set_counter_open(self.bo, self.clerk, self.day.ward, number, True)
                self.ops += 1
                c.open, c.opened_at = True, self.now
            return
        c.closing = True
        self._maybe_close(c)

    def _maybe_close(self, c: CounterState) -> None:
        if not c.open or c.busy or not c.closing:
            return
        final = self.now >= c.last_end
        if final and any(self.waiting[s] for s in c.services):
            return  # the day's last close is soft: serve those still holding a ticket
        actions.set_counter_open(self.bo, self.clerk, self.day.ward, c.number, False)
        self.ops += 1
        c.open, c.closing = False, False
        c.open_seconds += self.now - c.opened_at

    def _complete(self, ticket_id: int, number: int) -> None:
        t = actions.act(self.bo, self.clerk, ticket_id, "complete")
        self.ops += 1
        self._free(number)
        v = self.by_ticket[ticket_id]
        if t["status"] == "waiting":  # a routed visit moved on to its next stage
            self.joined[(ticket_id, self.stage_of(t))] = self.now
            self.waiting[t["service"]] += 1
        elif self.reticket is not None and v.index + 1 < len(v.arrival.stages):
            self.push(self.now + self.reticket, "reticket", v)
        else:
            v.done = self.now

    def _no_show(self, ticket_id: int, number: int) -> None:
        actions.act(self.bo, self.clerk, ticket_id, "no-show")
        self.ops += 1
        self._free(number)
        if ticket_id in self.by_ticket:
            self.by_ticket[ticket_id].done = self.now

    def _free(self, number: int) -> None:
        c = self.counters[number]
        c.busy = False
        c.busy_seconds += self.now - c.busy_since
        self._maybe_close(c)

    def call_free_counters(self) -> None:
        for c in self.counters.values():
            if not c.open or c.busy or (c.closing and self.now < c.last_end):
                continue
            if not any(self.waiting[s] for s in c.services):
                continue
            ticket = actions.call_next(self.bo, self.clerk, self.day.ward, c.number, "")
            self.ops += 1
            if ticket is None:
                continue
            c.busy = True
            c.busy_since = self.now
            v = self.by_ticket.get(ticket["id"])
            if v is None:  # a ticket this day did not issue (a database not fresh)
                self.push(self.now, "no_show", (ticket["id"], c.number))
                continue
            self.waiting[ticket["service"]] -= 1
            stage = self.stage_of(ticket)
            v.waits.append(self.now - self.joined.pop((ticket["id"], stage), self.now))
            for o in self.observers:
                called = getattr(o, "called", None)
                if called is not None:
                    called(self, ticket, stage)
            index = v.index if self.reticket is not None else stage - 1
            if v.arrival.no_show and index == 0:
                self.push(self.now + self.grace, "no_show", (ticket["id"], c.number))
                continue
            start = self.now + self.walk
            self.push(start, "start", ticket["id"])
            self.push(start + v.arrival.minutes[index] * 60, "complete",
                      (ticket["id"], c.number))

    def _overtime(self) -> bool:
        """Tickets still wait with their counters gone home (a routed visit reached a queue
        after its last counter closed): one counter per such service opens again."""
        again = False
        for service, n in self.waiting.items():
            if n > 0:
                c = next((c for c in self.counters.values() if service in c.services), None)
                if c is not None and not c.open:
                    c.last_end = max(c.last_end, self.now)
                    self.push(self.now, "open", c.number)
                    self.push(self.now, "close", c.number)
                    again = True
        return again

    def run(self) -> Driver:
        for a in self.day.arrivals:
            self.push(a.at, "arrive", a)
        for s in self.day.shifts:
            self.push(s.start, "open", s.number)
            self.push(s.end, "close", s.number)
        started, cpu = wall.perf_counter(), wall.process_time()
        with simulated(self.clock):
            while self.heap or self._overtime():
                self.now, _, kind, data = heapq.heappop(self.heap)
                if self.now - self._cleared >= 3.0:  # the estimate cache's 3 s, in sim time
                    self.bo.estimates.clear()
                    self._cleared = self.now
                if kind == "arrive":
                    self._arrive(data)
                elif kind == "open":
                    self._shift(data, True)
                elif kind == "close":
                    self._shift(data, False)
                elif kind == "start":
                    actions.act(self.bo, self.clerk, data, "start")
                    self.ops += 1
                    continue
                elif kind == "complete":
                    self._complete(*data)
                elif kind == "no_show":
                    self._no_show(*data)
                elif kind == "reticket":
                    data.index += 1
                    self._issue(data)
                self.call_free_counters()
                for c in self.counters.values():  # a soft close waits for the queue
                    if c.closing and self.now >= c.last_end:
                        self._maybe_close(c)
        self.wall_seconds = wall.perf_counter() - started
        self.cpu_seconds = wall.process_time() - cpu
        return self


def schedule_of(d: Driver) -> Any:
    """The day's counter schedule as the clerk estimate reads it (Backoffice.counter_schedule):
    per counter, its closed spans ahead of now in seconds — before its first shift and
    between shifts (the end of its last shift is a soft close, not counted)."""
    spans: dict[int, list[tuple[float, float]]] = {}
    by_counter: dict[int, list[Shift]] = {}
    for s in d.day.shifts:
        by_counter.setdefault(s.number, []).append(s)
    for number, shifts in by_counter.items():
        shifts.sort(key=lambda s: s.start)
        gaps = [(0.0, shifts[0].start)] if shifts[0].start > 0 else []
        gaps += [(a.end, b.start) for a, b in itertools.pairwise(shifts)
                 if b.start > a.end]
        spans[number] = gaps

    def closures(ward: str, now: datetime) -> dict[int, tuple[tuple[float, float], ...]]:
        t = (now - d.opening).total_seconds()
        return {n: tuple((max(a - t, 0.0), b - t) for a, b in gaps if b > t)
                for n, gaps in spans.items()}

    return closures
