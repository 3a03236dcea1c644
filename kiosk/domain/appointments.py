"""Appointments (予約, issue #19), the pure part: a service's booking rules from the
catalog, the ward's bookable days (national holidays, 年末年始 12/29-1/3, the ward's own
closures and special openings) and the slots of a day. No I/O: the holiday dates and the
closures are given by the caller (the back-office takes them from the `holidays` library
and config/backoffice.toml)."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from kiosk.domain.section import Section

if TYPE_CHECKING:  # catalog.py reads AppointmentRules: no import cycle at run time
    from kiosk.domain.catalog import OpeningHours


@dataclass(frozen=True)
class AppointmentRules:
    """[services.appointments] of config/catalog.toml: the service takes appointments."""

    slot_minutes: int = 15
    counters: int = 1          # counters set aside for appointments while the ward is open
    days_ahead: int = 14       # the last bookable day is today + days_ahead
    cutoff_minutes: int = 60   # booking closes this long before the slot starts

    def capacity(self, service_minutes: float) -> int:
        """Appointments per slot: what the set-aside counters serve in one slot."""
        return self.counters * max(1, int(self.slot_minutes // max(service_minutes, 0.5)))


def appointment_rules(s: Section) -> AppointmentRules:
    s.unknown_keys(("slot_minutes", "counters", "days_ahead", "cutoff_minutes"))
    d = AppointmentRules()
    return AppointmentRules(
        slot_minutes=s.integer("slot_minutes", d.slot_minutes, min=5, max=240),
        counters=s.integer("counters", d.counters, min=1, max=50),
        days_ahead=s.integer("days_ahead", d.days_ahead, min=1, max=180),
        cutoff_minutes=s.integer("cutoff_minutes", d.cutoff_minutes, min=0, max=7 * 24 * 60))


def year_end(day: date) -> bool:
    """年末年始: 12/29 to 1/3, closed in every ward (条例 of most cities)."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@dataclass(frozen=True)
class Calendar:
    """Which days a ward takes appointments: its weekdays, less national holidays, 年末年始
    and its own closures, plus its special openings (e.g. a Sunday opening in March)."""

    hours: OpeningHours
    holidays: Container[date]
    closures: Container[date] = ()
    openings: Container[date] = ()

    def open_on(self, day: date) -> bool:
        if day in self.openings:
            return True
        if day in self.closures or day in self.holidays or year_end(day):
            return False
        return day.weekday() in self.hours.weekdays

    def days(self, today: date, rules: AppointmentRules) -> Iterator[date]:
        for n in range(rules.days_ahead + 1):
            day = today + timedelta(days=n)
            if self.open_on(day):
                yield day


def slot_starts(day: date, hours: OpeningHours, rules: AppointmentRules) -> list[time]:
    """The slots' local start times: from opening, every slot_minutes, each ending by
    closing time."""
    out = []
    at = datetime.combine(day, hours.opens)
    end = datetime.combine(day, hours.closes)
    step = timedelta(minutes=rules.slot_minutes)
    while at + step <= end:
        out.append(at.time())
        at += step
    return out


def bookable(slot: datetime, now: datetime, rules: AppointmentRules) -> bool:
    """A slot (local, aware or naive alike with `now`) can still be booked or moved to."""
    return slot - timedelta(minutes=rules.cutoff_minutes) >= now


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed at a kiosk
CODE_LENGTH = 10                                     # 50 bits: not guessable within a limit


def new_code(random_index: Callable[[int], int]) -> str:
    """A booking code; `random_index(n)` is a secure choice in 0..n-1 (secrets.randbelow)."""
    return "".join(CODE_ALPHABET[random_index(len(CODE_ALPHABET))] for _ in range(CODE_LENGTH))


def normal_code(typed: str) -> str | None:
    """What a resident typed or a scanner read → the code, or None: case, spaces and
    hyphens do not matter; O→0 and I→1 confusions are mapped back to the alphabet's."""
    text = typed.strip().upper().replace("-", "").replace(" ", "")
    text = text.removeprefix("WARDAPPT:")
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        return None
    return text


def queued_at(checked_in: datetime, slot: datetime, lead_minutes: int) -> datetime:
    """The fairness rule (docs/home.md): a checked-in appointment queues, in the walk-ins'
    rank, as if it had come `lead_minutes` before its slot — or when it came, if earlier.
    It overtakes only walk-ins who came after that moment."""
    return min(checked_in, slot - timedelta(minutes=lead_minutes))
