"""A place in today's queue from home (issue #19), the pure part: a service's rules from
the catalog (`[services.remote]`), whether a place may be taken now, and whether a place
taken from home may still be checked in. No I/O: the caller gives the ward's state, the
estimate and the counts.

A remote place is not a ticket yet: it keeps its place in the walk-ins' line from the
moment it was taken, and becomes a ticket (queued at that moment) only when checked in at
a kiosk of its ward. It is never called before. Once it is "almost its turn" (at most
`[remote] almost_ahead` people ahead), it must be checked in within
`[remote] check_in_minutes`, else it is a no-show and its code gives nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.section import Section

REFUSALS = ("ward_closed", "wait_short", "hour_full", "not_offered")


@dataclass(frozen=True)
class RemoteRules:
    """[services.remote] of config/catalog.toml: the service gives places from home."""

    per_hour: int = 10              # places taken from home per ward and clock hour
    min_wait_minutes: int = 0       # only while the estimated wait exceeds this
    wards: tuple[str, ...] = ()     # only in these wards (() = every ward with the service)

    def offered_in(self, ward: str) -> bool:
        return not self.wards or ward in self.wards


def remote_rules(s: Section) -> RemoteRules:
    s.unknown_keys(("per_hour", "min_wait_minutes", "wards"))
    d = RemoteRules()
    return RemoteRules(
        per_hour=s.integer("per_hour", d.per_hour, min=1, max=10_000),
        min_wait_minutes=s.integer("min_wait_minutes", d.min_wait_minutes, min=0,
                                   max=24 * 60),
        wards=s.texts("wards", d.wards))


def refusal(rules: RemoteRules | None, ward: str, *, open_now: bool, wait_seconds: int,
            taken_this_hour: int) -> str | None:
    """Why a place cannot be taken now (one of REFUSALS), or None: it can."""
    if rules is None or not rules.offered_in(ward):
        return "not_offered"
    if not open_now:
        return "ward_closed"
    if wait_seconds <= rules.min_wait_minutes * 60:
        return "wait_short"
    if taken_this_hour >= rules.per_hour:
        return "hour_full"
    return None


def hour_start(now: datetime) -> datetime:
    """The clock hour `now` is in (the cap per hour counts places taken since)."""
    return now.replace(minute=0, second=0, microsecond=0)


def almost(people_ahead: int, almost_ahead: int) -> bool:
    """The "almost your turn" point: at most `almost_ahead` people ahead."""
    return people_ahead <= almost_ahead


def missed(now: datetime, almost_at: datetime | None, check_in_minutes: int) -> bool:
    """Not checked in within `check_in_minutes` of the "almost your turn" point."""
    return almost_at is not None and now > almost_at + timedelta(minutes=check_in_minutes)
