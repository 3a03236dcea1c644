"""The state one server process shares between requests: settings, catalog, engine, hub."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from typing import Any

from sqlalchemy import Engine

from kiosk.backoffice.auth import TokenCache
from kiosk.backoffice.config import Settings
from kiosk.backoffice.db import is_sqlite, make_engine, normalize_url
from kiosk.backoffice.estimate import Estimate
from kiosk.backoffice.events import Hub
from kiosk.domain.catalog import Catalog


def catalog_json(catalog: Catalog) -> dict[str, Any]:
    def hours(w: Any) -> dict[str, Any]:
        return {"opens": f"{w.hours.opens:%H:%M}", "closes": f"{w.hours.closes:%H:%M}",
                "weekdays": list(w.hours.weekdays)}

    return {
        "services": [{"code": s.code, "prefix": s.prefix, "name": s.name,
                      "target_wait_minutes": s.target_wait_minutes,
                      "default_service_minutes": s.default_service_minutes}
                     for s in catalog.services.values()],
        "wards": [{"code": w.code, "name": w.name, "city": w.city, "postcode": w.postcode,
                   "services": list(w.services), **hours(w),
                   "counters": [{"number": c.number, "name": c.name, "services": list(c.services)}
                                for c in w.counters]}
                  for w in catalog.wards.values()],
        "procedures": [{"code": p.code, "name": p.name, "group": p.group, "service": p.service,
                        "fee_yen": p.fee_yen, "fee_per_copy": p.fee_per_copy,
                        "signature": p.signature, "card_update": p.card_update,
                        "needs_my_number": p.needs_my_number,
                        "fee_exempt_purposes": list(p.fee_exempt_purposes),
                        "description": p.description,
                        "fields": [{"key": f.key, "label": f.label, "kind": f.kind.value,
                                    "source": f.source.value, "required": f.required,
                                    "choices": list(f.choices),
                                    "default": list(f.default) if isinstance(f.default, tuple)
                                    else f.default, "max": f.max} for f in p.fields]}
                       for p in catalog.procedures.values()],
    }


class TtlCache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Backoffice:
    def __init__(self, db_url: str, settings: Settings, catalog: Catalog,
                 engine: Engine | None = None) -> None:
        self.db_url = normalize_url(db_url)
        self.settings = settings
        self.catalog = catalog
        self.tz = settings.server.tz
        self.engine = engine or make_engine(self.db_url, pool_size=settings.server.db_pool_size)
        self.is_pg = not is_sqlite(self.db_url)
        self.hub = Hub(settings.events.subscriber_queue,
                       max_total=settings.events.max_streams_total,
                       max_per_credential=settings.events.max_streams_per_credential)
        # fastpath.FastIssuer while serving on PostgreSQL, groupcommit.GroupIssuer on SQLite
        self.fast_issuer: Any = None
        self.positions: Any = None  # positions.PositionFeed, made by the first phone stream
        self.tokens = TokenCache(settings.security.token_cache_seconds)
        self.estimates: TtlCache = TtlCache(3.0)     # (ward, service) -> ServiceEstimate
        self.ward_states: TtlCache = TtlCache(2.0)   # ward -> "auto" | "open" | "closed"
        # (ward, now) -> {counter: closed (from, to) seconds ahead}: a known counter schedule
        # for the clerk estimate (engine/clerk_inputs.py); the simulator sets it.
        self.counter_schedule: Any = None
        self.catalog_number = 0   # the stored version in force (0: the files, not stored)
        # (life-event catalog, why not) of the version in force; None: read the file
        self.life_events: tuple[Any, str | None] | None = None
        self._set_catalog(catalog)

    def _set_catalog(self, catalog: Catalog) -> None:
        self.catalog_dict = catalog_json(catalog)
        self.catalog_version = hashlib.sha256(
            json.dumps(self.catalog_dict, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()[:16]
        self.catalog = catalog

    def use_catalog(self, loaded: Any) -> None:
        """Put a stored catalog version in force in this process (catalog_versions.Loaded):
        the next request serves it; a request under way keeps the objects it holds."""
        self.life_events = (loaded.life_events, loaded.life_events_error)
        self.settings = dataclasses.replace(self.settings, calendar=loaded.calendar)
        self._set_catalog(loaded.catalog)
        self.catalog_number = loaded.version
        self.estimates.clear()
        self.ward_states.clear()

    def libpq_dsn(self) -> str:
        return self.db_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def cached_estimate(self, ward: str, service: str) -> Estimate | None:
        value: Estimate | None = self.estimates.get((ward, service))
        return value

    def after_commit(self, events: list[dict[str, Any]]) -> None:
        """SQLite: hand the committed events to this process's hub (PostgreSQL NOTIFYs)."""
        if events and not self.is_pg:
            self.hub.publish_threadsafe(events)
