"""The figures of a simulated day (docs/statistics.md §Simulator report)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

from kiosk.backoffice.simulation.day import describe
from kiosk.backoffice.simulation.driver import Driver
from kiosk.backoffice.waits import estimate_errors


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0-1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * round(q * 100) // 100) - 1)]


def minutes(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "mean_min": None, "p50_min": None, "p90_min": None}
    return {"n": len(values), "mean_min": round(statistics.fmean(values) / 60, 1),
            "p50_min": round(percentile(values, 0.5) / 60, 1),
            "p90_min": round(percentile(values, 0.9) / 60, 1)}


def day_report(d: Driver) -> dict[str, Any]:
    catalog = d.bo.catalog
    waits: dict[str, list[float]] = defaultdict(list)
    within: dict[str, list[bool]] = defaultdict(list)
    for v in d.visits:
        for (service, _), w in zip(v.arrival.stages, v.waits, strict=False):
            waits[service].append(w)
            within[service].append(w <= catalog.services[service].target_wait_minutes * 60)
    every = [w for ws in waits.values() for w in ws]
    hits = [h for hs in within.values() for h in hs]
    life = [v.done - v.issued for v in d.visits if v.arrival.life_event and v.done is not None]
    single = [v.done - v.issued for v in d.visits
              if not v.arrival.life_event and v.done is not None]
    busy = sum(c.busy_seconds for c in d.counters.values())
    opened = sum(c.open_seconds for c in d.counters.values())
    day_start = d.opening
    errors = estimate_errors(d.bo, ward=d.day.ward, since=day_start,
                             until=day_start + timedelta(days=1))
    return {
        **describe(d.day),
        "waits": minutes(every),
        "waits_by_service": {s: minutes(w) for s, w in sorted(waits.items())},
        "within_target": round(sum(hits) / len(hits), 3) if hits else None,
        "within_target_by_service": {s: round(sum(h) / len(h), 3)
                                     for s, h in sorted(within.items())},
        "time_in_office": {"life_event": minutes(life), "single": minutes(single)},
        "utilisation": round(busy / opened, 3) if opened else None,
        "utilisation_by_counter": {c.number: round(c.busy_seconds / c.open_seconds, 3)
                                   for c in d.counters.values() if c.open_seconds},
        "estimate_served": {"method": d.bo.settings.queue.estimator, **errors["total"]},
        "unfinished": sum(1 for v in d.visits if v.done is None),
        "last_done_min": round(max((v.done or 0 for v in d.visits), default=0) / 60),
        "engine_ops": d.ops,
        "wall_seconds": round(d.wall_seconds, 2),
        "cpu_seconds": round(d.cpu_seconds, 2),
    }


def text(r: dict[str, Any]) -> str:
    w, life = r["waits"], r["time_in_office"]["life_event"]
    e = r["estimate_served"]
    lines = [
        f"{r['name']} {r['date']} ward {r['ward']}: {r['visitors']} visitors, "
        f"{r['counters']} counters",
        f"  wait to call: p50 {w['p50_min']} min, p90 {w['p90_min']} min, mean "
        f"{w['mean_min']} min; within target {r['within_target']}",
        f"  time in office (life events): mean {life['mean_min']} min, p90 {life['p90_min']} min",
        f"  counters busy {r['utilisation']} of their open time",
        f"  served estimate ({e['method']}): MAE {e['mae_min']} min, bias {e['bias_min']} min, "
        f"within ±5 min {e['within_5min']}",
        f"  {r['engine_ops']} engine calls in {r['wall_seconds']} s (CPU {r['cpu_seconds']} s); "
        f"unfinished "
        f"{r['unfinished']}",
    ]
    return "\n".join(lines)
