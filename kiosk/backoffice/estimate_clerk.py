"""The "clerk" wait estimate (issue #22): what an experienced clerk would reckon.

- service time per procedure and hour of day, learned from the ward's own completions
  (counter time: call → completion, so the walk to the counter is in it), shrunk towards the
  procedure's mean and that towards the catalog default when samples are few;
- the counters actually open now, and their schedule when one is known (a lunch closing);
- the time already spent on the tickets being served (a counter frees when its current
  ticket's remaining time is up, not a whole service time from now);
- the real queue in call order across every service those counters serve (a shared counter
  also serves the other queue's earlier tickets), and the routed visits being served
  elsewhere now that will join this queue ahead of a new ticket;
- expected priority arrivals, which go ahead of a normal ticket while it waits.

The counters are played forward greedily (each takes the first ticket of its services as
it frees), giving the call time of each place in the queue. A range goes with it: the
spread of the service times ahead plus a share of the estimate for what nobody knows yet
(arrivals, no-shows), shown rounded out to 5 minutes ("15〜25分").
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CV = 0.5            # the spread of one service time (coefficient of variation)
UNKNOWN = 0.15      # the share of the wait nobody can know yet
Z = 1.0             # with SLACK: ≥ 80 % of actual waits inside the range (bench_estimates)
SLACK = 60.0        # seconds added on each side of the range
ROUND = 300         # the range is shown in 5-minute steps
EXTRA = 30          # new tickets played past the queue (further places: `step` each)


@dataclass(frozen=True)
class Waiting:
    service: str
    seconds: float              # its expected counter time
    available_in: float = 0.0   # a routed visit still at another counter joins later
    joiner: bool = False        # such a visit: not one of the people counted ahead


@dataclass(frozen=True)
class Desk:
    number: int
    services: tuple[str, ...]
    free_in: float                                      # seconds until it takes a ticket
    closed: tuple[tuple[float, float], ...] = ()        # (from, to) seconds from now


@dataclass
class ClerkEstimate:
    service: str
    calls: list[float]                  # call time of the k-th place of `service`'s queue
    step: float                         # seconds per further place past the simulated ones
    places: list[int]                   # index in `calls` of the k-th person counted ahead
    spread: list[float]                 # the service-time spread behind each place
    mean_service_seconds: float
    open_counters: int
    priority_factor: float = 1.0
    samples: int = 0
    method: str = field(default="clerk")

    @property
    def capacity(self) -> float:
        return self.open_counters

    def _at(self, people_ahead: int) -> tuple[float, float]:
        k = max(people_ahead, 0)
        if k < len(self.places):  # joining routed visits may stand ahead of this place
            k = self.places[k]
        elif self.places:
            k += self.places[-1] - len(self.places) + 1
        if k < len(self.calls):
            return self.calls[k], self.spread[k]
        extra = k - len(self.calls) + 1
        last = self.calls[-1] if self.calls else 0.0
        last_spread = self.spread[-1] if self.spread else 0.0
        return last + extra * self.step, math.hypot(last_spread,
                                                     CV * self.step * math.sqrt(extra))

    def wait_seconds(self, people_ahead: int) -> int:
        return round(self._at(people_ahead)[0] * self.priority_factor)

    def wait_range(self, people_ahead: int) -> tuple[int, int]:
        base, spread = self._at(people_ahead)
        wait = base * self.priority_factor
        s = math.hypot(spread, UNKNOWN * wait)
        low = max(0.0, wait - Z * s - SLACK)
        high = wait + Z * s + SLACK
        return (int(low // ROUND * ROUND), int(math.ceil(high / ROUND) * ROUND))


def learned_seconds(samples: Mapping[tuple[str, int], Sequence[float]], key: str, hour: int,
                    prior: float, weight: float = 3.0) -> float:
    """The mean counter time of `key` (procedures joined by '+') at `hour`, shrunk towards
    the key's all-day mean, and that towards `prior`."""
    every = [d for (k, _h), ds in samples.items() if k == key for d in ds]
    day_mean = (weight * prior + sum(every)) / (weight + len(every))
    here = samples.get((key, hour), ())
    return (weight * day_mean + sum(here)) / (weight + len(here))


def play(service: str, desks: Sequence[Desk], queue: Sequence[Waiting], mean: float,
         extra: int = 30) -> tuple[list[float], list[float]]:
    """Call times (and spreads) of `service`'s places: the counters taking, as each frees,
    the first available ticket of their services in queue order; `extra` new tickets of
    `service` after the queue."""
    tickets = list(queue) + [Waiting(service, mean)] * extra
    ready: dict[str, deque[int]] = {}
    joiners: list[int] = []         # routed visits still at another counter (few)
    for j, t in enumerate(tickets):
        if t.available_in > 0:
            joiners.append(j)
        else:
            ready.setdefault(t.service, deque()).append(j)
    heap = [(_open_at(d, d.free_in), i) for i, d in enumerate(desks)]
    heapq.heapify(heap)
    ordinal = {j: n for n, j in enumerate(j for j, t in enumerate(tickets)
                                          if t.service == service)}
    calls: list[float] = [math.inf] * len(ordinal)   # in queue order, not call order
    spread: list[float] = [0.0] * len(ordinal)
    load = [0.0] * len(desks)       # variance of the work each counter has done so far
    left = len(ordinal)
    while heap and left:
        at, i = heapq.heappop(heap)
        if at == math.inf:
            break
        d = desks[i]
        heads = [(q[0], q) for s in d.services if (q := ready.get(s))]
        came = [j for j in joiners if tickets[j].service in d.services
                and tickets[j].available_in <= at]
        best = min([h for h, _ in heads] + came, default=None)
        if best is None:
            later = [tickets[j].available_in for j in joiners
                     if tickets[j].service in d.services]
            if later:
                heapq.heappush(heap, (_open_at(d, min(later)), i))
            continue
        if best in came:
            joiners.remove(best)
        else:
            next(q for h, q in heads if h == best).popleft()
        t = tickets[best]
        if t.service == service:
            calls[ordinal[best]] = at
            spread[ordinal[best]] = math.sqrt(load[i])
            left -= 1
        load[i] += (CV * t.seconds) ** 2
        heapq.heappush(heap, (_open_at(d, at + t.seconds), i))
    if left:  # no counter of this service opens again today: the last call time it had
        last = max((c for c in calls if c < math.inf), default=0.0)
        calls = [c if c < math.inf else last for c in calls]
    return calls, spread


def _open_at(d: Desk, at: float) -> float:
    for start, end in d.closed:
        if start <= at < end:
            return end
    return at


def estimate(service: str, desks: Sequence[Desk], queue: Sequence[Waiting], mean: float,
             priority_per_hour: float, samples: int = 0) -> ClerkEstimate:
    serving = [d for d in desks if service in d.services]
    capacity = sum(1.0 / len(d.services) for d in serving) or 1.0
    calls, spread = play(service, serving, queue, mean, EXTRA) if serving else ([], [])
    step = mean / capacity
    mine = [t for t in queue if t.service == service] + [Waiting(service, mean)] * EXTRA
    places = [i for i, t in enumerate(mine) if not t.joiner]
    # A priority visitor arriving while we wait goes ahead: each costs one place's time.
    factor = 1.0 / max(1.0 - priority_per_hour / 3600.0 * step, 0.5)
    return ClerkEstimate(service, calls or [0.5 * step], step, places, spread or [0.0], mean,
                         len(serving), factor, samples)
