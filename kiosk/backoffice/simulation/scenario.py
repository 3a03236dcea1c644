"""Generated ward days: arrivals per hour and service shaped by day-of-week and season
profiles, service times drawn per procedure, counter shifts (lunch closing), no-shows,
appointments, priority visitors and life-event routes (docs/statistics.md §Scenarios).

The numbers are assumptions written down here, not measurements of a real ward: a base
day's visitors, its service mix and minutes per procedure; a Monday brings 1.3×, the day
after a holiday 1.4×, March-April 1.6× and twice the life events (引越し season).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date

from kiosk.backoffice.simulation.day import Arrival, Day, Shift, stages_of
from kiosk.domain.catalog import Catalog

# Mean minutes at the counter per procedure (drawn from a gamma distribution, shape 4:
# a coefficient of variation of 0.5); others take their service's catalog default.
MINUTES = {"tennyu": 14, "tenkyo": 9, "tenshutsu": 7, "kokuho_kanyu": 9, "jidoteate": 8,
           "kokuho_dattai": 6, "juminhyo": 4, "inkan": 5, "koseki": 5, "shotoku": 4}
# One-procedure visits: the share of each procedure.
SINGLE = {"juminhyo": 0.33, "inkan": 0.13, "koseki": 0.13, "shotoku": 0.12, "tenkyo": 0.06,
          "kokuho_kanyu": 0.08, "jidoteate": 0.06, "kokuho_dattai": 0.05, "tenshutsu": 0.04}
# Life events as the kiosk bundles them: the procedures always and sometimes needed.
EVENTS = {
    "tennyu": (["tennyu"], ["kokuho_kanyu", "jidoteate", "juminhyo", "inkan"]),
    "tenkyo": (["tenkyo"], ["jidoteate", "juminhyo", "inkan"]),
    "tenshutsu": (["tenshutsu"], ["kokuho_dattai", "juminhyo", "koseki"]),
    "shussei": (["jidoteate"], ["kokuho_kanyu", "juminhyo"]),
}
EVENT_SHARE = {"tennyu": 0.45, "tenkyo": 0.25, "tenshutsu": 0.2, "shussei": 0.1}
# Arrival weight per office hour from opening (morning and after-lunch peaks).
HOURLY = (1.4, 1.6, 1.4, 0.9, 0.8, 1.2, 1.0, 0.7, 0.3)
# On a Monday and after a holiday the morning is fuller still.
HOURLY_PEAK = (2.0, 2.0, 1.5, 0.9, 0.7, 1.0, 0.8, 0.6, 0.3)
ROUTE_ORDER = ("moving", "insurance", "certificates", "family", "children", "assistance")


@dataclass(frozen=True)
class Profile:
    name: str
    visitors: int = 600             # a base weekday outside the season
    life_share: float = 0.15        # visits for a life event (a route of 2-5 procedures)
    no_show: float = 0.04
    appointment: float = 0.03
    priority: float = 0.05          # priority / assistance: ahead of normal tickets
    lunch_closing: float = 0.0      # share of counters closed 12:00-13:00
    monday: bool = False
    after_holiday: bool = False
    season: bool = False            # March-April

    @property
    def factor(self) -> float:
        return ((1.3 if self.monday else 1.0) * (1.4 if self.after_holiday else 1.0)
                * (1.6 if self.season else 1.0))


PROFILES = {
    "normal": Profile("normal"),
    "monday": Profile("monday", monday=True),
    "after_holiday": Profile("after_holiday", after_holiday=True),
    "march": Profile("march", season=True, life_share=0.3),
    "lunch": Profile("lunch", lunch_closing=0.5),
}
DATES = {"normal": date(2026, 6, 10), "monday": date(2026, 6, 8),
         "after_holiday": date(2026, 5, 7), "march": date(2026, 3, 25),
         "lunch": date(2026, 6, 11)}


def profile_for(name: str, visitors: int | None = None) -> Profile:
    base = PROFILES[name]
    if visitors is not None:  # the day's total as given; the profile still shapes it
        return replace(base, visitors=max(1, round(visitors / base.factor)))
    return base


def _minutes(rng: random.Random, catalog: Catalog, code: str) -> float:
    mean = MINUTES.get(code, catalog.services[catalog.procedures[code].service]
                       .default_service_minutes)
    return max(0.5, rng.gammavariate(4, mean / 4))


def arrivals(catalog: Catalog, ward: str, p: Profile, open_hours: float,
             seed: int) -> list[Arrival]:
    rng = random.Random(seed)
    shape = HOURLY_PEAK if p.monday or p.after_holiday else HOURLY
    hours = [h for h, w in enumerate(shape[:math.ceil(open_hours)]) for _ in range(int(w * 10))]
    offered = set(catalog.wards[ward].services)
    single = {c: w for c, w in SINGLE.items() if catalog.procedures[c].service in offered}
    out = []
    for _ in range(round(p.visitors * p.factor)):
        at = min((rng.choice(hours) + rng.random()) * 3600, open_hours * 3600 - 60)
        event = None
        if rng.random() < p.life_share:
            event = rng.choices(list(EVENT_SHARE), weights=list(EVENT_SHARE.values()))[0]
            must, maybe = EVENTS[event]
            procs = (must + [c for c in maybe if rng.random() < 0.5])[:5]
            while len(procs) < 2:
                procs.append(next(c for c in maybe if c not in procs))
            procs = [c for c in procs if catalog.procedures[c].service in offered] or procs[:1]
            procs.sort(key=lambda c: ROUTE_ORDER.index(catalog.procedures[c].service))
        else:
            procs = [rng.choices(list(single), weights=list(single.values()))[0]]
        stages, mins = stages_of(catalog, procs, [_minutes(rng, catalog, c) for c in procs])
        roll = rng.random()
        priority = ("appointment" if roll < p.appointment else
                    "priority" if roll < p.appointment + p.priority else "normal")
        out.append(Arrival(at, ward, stages, mins, rng.random() < p.no_show, priority, event))
    return sorted(out, key=lambda a: a.at)


def plan_counters(catalog: Catalog, ward: str, found: list[Arrival], open_seconds: float,
                  lunch_closing: float, utilisation: float = 0.9,
                  counters: int | None = None) -> list[Shift]:
    """Counters per service sized to the day's work at `utilisation` (or `counters` in all,
    shared out by work), each open all day; with `lunch_closing`, that share of each
    service's counters closes 12:00-13:00 (the first hour after lunch is the 4th)."""
    work = {s: 0.0 for s in catalog.wards[ward].services}
    for a in found:
        for (service, _), mins in zip(a.stages, a.minutes, strict=True):
            work[service] += mins * 60 + 30  # the walk to the counter occupies it too
    total = sum(work.values()) or 1.0
    need = {s: (max(1, round(counters * w / total)) if counters
                else max(1, math.ceil(w / (open_seconds * utilisation))))
            for s, w in work.items() if w > 0}
    shifts: list[Shift] = []
    number = 0
    lunch = (3 * 3600 + 15 * 60, 4 * 3600 + 15 * 60)  # 12:00-13:00 from 08:45
    for service, n in need.items():
        closing = round(n * lunch_closing)
        for i in range(n):
            number += 1
            if i < closing:
                shifts += [Shift(number, (service,), 0, lunch[0]),
                           Shift(number, (service,), lunch[1], open_seconds)]
            else:
                shifts.append(Shift(number, (service,), 0, open_seconds))
    return shifts


def generate(catalog: Catalog, ward: str, name: str, *, visitors: int | None = None,
             seed: int = 22, counters: int | None = None) -> Day:
    p = profile_for(name, visitors)
    hours = catalog.wards[ward].hours
    opens, closes = hours.opens, hours.closes
    day = Day(ward, DATES[name], opens, closes, [], name=name)
    day.arrivals = arrivals(catalog, ward, p, day.open_seconds / 3600, seed)
    day.shifts = plan_counters(catalog, ward, day.arrivals, day.open_seconds, p.lunch_closing,
                               counters=counters)
    return day


def shifts_for_trace(catalog: Catalog, day: Day, lunch_closing: float = 0.0,
                     counters: int | None = None) -> list[Shift]:
    return plan_counters(catalog, day.ward, day.arrivals, day.open_seconds, lunch_closing,
                         counters=counters)

