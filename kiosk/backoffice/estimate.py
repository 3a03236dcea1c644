"""Wait estimates learned from real service times, not a fixed constant.

mean service time = (prior_weight × catalog default + Σ recent real durations)
                    ÷ (prior_weight + number of durations)
capacity          = Σ over open counters serving the service of 1 / (services it serves)
                    (all configured counters when none is open — the office's normal staffing)
a ticket's wait   = (people ahead + 0.5) × mean ÷ capacity
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kiosk.domain.catalog import Counter


class Estimate(Protocol):
    """A served wait estimate ([queue] estimator: "learned" here, "clerk" in
    estimate_clerk.py); engine/shown.py stores what it answered."""

    @property
    def method(self) -> str: ...

    @property
    def mean_service_seconds(self) -> float: ...

    @property
    def open_counters(self) -> int: ...

    def wait_seconds(self, people_ahead: int) -> int: ...

    def wait_range(self, people_ahead: int) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class ServiceEstimate:
    mean_service_seconds: float
    capacity: float
    open_counters: int
    samples: int

    method = "learned"

    def wait_seconds(self, people_ahead: int) -> int:
        if self.capacity <= 0:
            return round((people_ahead + 0.5) * self.mean_service_seconds)
        return round((people_ahead + 0.5) * self.mean_service_seconds / self.capacity)

    def wait_range(self, people_ahead: int) -> tuple[int, int] | None:
        """The range shown with the estimate; this method shows none."""
        return None


def learned_mean(default_seconds: float, durations: Sequence[float], prior_weight: int) -> float:
    usable = [d for d in durations if 0 < d < 4 * 3600]  # a ticket left open overnight is noise
    return (prior_weight * default_seconds + sum(usable)) / max(prior_weight + len(usable), 1)


def capacity(service: str, counters: Iterable[Counter],
             open_numbers: set[int]) -> tuple[float, int]:
    serving = [c for c in counters if service in c.services]
    open_ = [c for c in serving if c.number in open_numbers]
    chosen = open_ or serving
    return sum(1.0 / len(c.services) for c in chosen), len(open_)


def estimate(service: str, default_minutes: float, durations: Sequence[float],
             counters: Iterable[Counter], open_numbers: set[int],
             prior_weight: int) -> ServiceEstimate:
    cap, n_open = capacity(service, counters, open_numbers)
    mean = learned_mean(default_minutes * 60.0, durations, prior_weight)
    return ServiceEstimate(mean, cap, n_open, len(durations))


def level(wait_seconds: int, target_minutes: int) -> str:
    """The congestion traffic light shown to residents and supervisors."""
    if wait_seconds <= target_minutes * 60 * 0.5:
        return "green"
    return "yellow" if wait_seconds <= target_minutes * 60 else "red"
