"""Turning back-office answers into domain objects (no I/O here)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kiosk.domain.catalog import Catalog

_SERVICE_KEYS = ("code", "prefix", "name", "target_wait_minutes", "default_service_minutes")
_WARD_KEYS = ("code", "name", "services", "counters", "opens", "closes", "weekdays",
              "postcode", "city")
_COUNTER_KEYS = ("number", "name", "services")
_PROCEDURE_KEYS = ("code", "name", "group", "service", "fee_yen", "fee_per_copy", "signature",
                   "card_update", "fields", "fee_exempt_purposes", "description")
_FIELD_KEYS = ("key", "label", "kind", "source", "required", "choices", "default", "max")


def _pick(data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    # JSON null (or "") means "not set"; the TOML-shaped parser wants the key absent.
    return {k: data[k] for k in keys if k in data and data[k] is not None and data[k] != ""}


def catalog_from_config(body: Mapping[str, Any]) -> Catalog:
    """The catalog of `GET /device/config` (one ward), validated like config/catalog.toml."""
    ward = _pick(body["ward"], _WARD_KEYS)
    ward["counters"] = [_pick(c, _COUNTER_KEYS) for c in body["ward"].get("counters", [])]
    procedures = []
    for p in body.get("procedures", []):
        proc = _pick(p, _PROCEDURE_KEYS)
        proc["fields"] = [_pick(f, _FIELD_KEYS) for f in p.get("fields", [])]
        procedures.append(proc)
    data = {"services": [_pick(s, _SERVICE_KEYS) for s in body.get("services", [])],
            "wards": [ward], "procedures": procedures}
    return Catalog.from_mapping(data, file="GET /device/config")


def minutes(seconds: Any) -> int | None:
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return max(0, math.ceil(seconds / 60))


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
