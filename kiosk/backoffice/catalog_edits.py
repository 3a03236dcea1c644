"""Edits of a catalog version's data: each returns a changed copy, shaped like the TOML
files, which catalog_versions.save then validates with the files' own code (so a bad fee
or an unknown service is refused with the same message a file would get). Pure: no I/O.

A key not found raises KeyError (the route answers 404); the values themselves are not
checked here — that is the validation's job, once, for files and edits alike. What the
files' validation cannot know — a service or procedure still in use elsewhere, a code
already taken — raises Refused (the route answers 409 with its reason).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Data = dict[str, Any]


class Refused(ValueError):
    """An addition or removal that the catalog's present use forbids (409 `code`)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def _copy(data: Mapping[str, Any]) -> Data:
    out: Data = copy.deepcopy(dict(data))
    out.setdefault("catalog", {})
    return out


def _find(items: list[Any], key: str, value: Any, what: str) -> dict[str, Any]:
    for item in items:
        if isinstance(item, dict) and item.get(key) == value:
            return item
    raise KeyError(f"there is no {what} {value!r}")


def _ward(data: Data, ward: str) -> dict[str, Any]:
    return _find(data["catalog"].setdefault("wards", []), "code", ward, "ward")


def put_counter(data: Mapping[str, Any], ward: str, number: int, name: str,
                services: list[str]) -> Data:
    """Add a counter or change its name and the services it serves."""
    out = _copy(data)
    counters = _ward(out, ward).setdefault("counters", [])
    table = {"number": number, "name": name, "services": list(services)}
    for i, c in enumerate(counters):
        if isinstance(c, dict) and c.get("number") == number:
            counters[i] = {**c, **table}
            return out
    counters.append(table)
    counters.sort(key=lambda c: c.get("number", 0) if isinstance(c, dict) else 0)
    return out


def delete_counter(data: Mapping[str, Any], ward: str, number: int) -> Data:
    out = _copy(data)
    w = _ward(out, ward)
    counter = _find(w.get("counters", []), "number", number, "counter")
    w["counters"].remove(counter)
    return out


def set_ward_services(data: Mapping[str, Any], ward: str, services: list[str]) -> Data:
    """The services a ward offers (its counters may only serve these)."""
    out = _copy(data)
    _ward(out, ward)["services"] = list(services)
    return out


def set_hours(data: Mapping[str, Any], ward: str, opens: str, closes: str,
              weekdays: list[int]) -> Data:
    out = _copy(data)
    _ward(out, ward).update(opens=opens, closes=closes, weekdays=list(weekdays))
    return out


def set_days(data: Mapping[str, Any], ward: str, closed: list[str], opened: list[str]) -> Data:
    """A ward's own closed days and special openings (休日開庁), ISO dates."""
    out = _copy(data)
    _ward(out, ward)
    cal = out.setdefault("calendar", {}) or {}
    out["calendar"] = cal
    for key, days in (("closed", closed), ("open", opened)):
        table = cal.setdefault(key, {})
        if days:
            table[ward] = sorted(set(days))
        else:
            table.pop(ward, None)
    return out


def patch_table(data: Mapping[str, Any], part: str, code: str,
                changes: Mapping[str, Any]) -> Data:
    """Change some keys of a service or procedure (`part`: services | procedures) —
    name, fee, target, form fields, … as catalog.toml names them."""
    out = _copy(data)
    table = _find(out["catalog"].setdefault(part, []), "code", code, part[:-1])
    table.update(copy.deepcopy(dict(changes)))
    return out


def add_table(data: Mapping[str, Any], part: str, table: Mapping[str, Any]) -> Data:
    """A new service or procedure (`part`: services | procedures), a table as catalog.toml
    writes it, after the others; a code already there is refused (change it instead)."""
    out = _copy(data)
    items = out["catalog"].setdefault(part, [])
    code = table.get("code")
    if any(isinstance(i, dict) and i.get("code") == code for i in items):
        raise Refused("already_exists", f"there is already a {part[:-1]} {code!r}: "
                      "change that one, or choose another code")
    items.append(copy.deepcopy(dict(table)))
    return out


def _names(items: list[str]) -> str:
    return ", ".join(items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")


def remove_service(data: Mapping[str, Any], code: str) -> Data:
    """Remove a service: refused while a counter of any ward serves it or a procedure
    belongs to it (a life event lists procedures, so those hold it too). The wards that
    only offer it (no counter serves it) and the life events' route drop it with it."""
    out = _copy(data)
    cat = out["catalog"]
    services = cat.setdefault("services", [])
    services.remove(_find(services, "code", code, "service"))
    counters = [f"{w.get('code')} {c.get('number')}" for w in cat.get("wards", [])
                for c in w.get("counters", []) if code in (c.get("services") or [])]
    if counters:
        raise Refused("service_in_use", f"counters serve {code!r} ({_names(counters)}): "
                      "take it off those counters first, then remove the service")
    procedures = [str(p.get("code")) for p in cat.get("procedures", [])
                  if p.get("service") == code]
    if procedures:
        raise Refused("service_in_use", f"procedures belong to {code!r} "
                      f"({_names(procedures)}): move or remove them first")
    for w in cat.get("wards", []):
        if code in (w.get("services") or []):
            w["services"] = [s for s in w["services"] if s != code]
    life = out.get("life_events") or {}
    if code in (life.get("route") or []):
        life["route"] = [s for s in life["route"] if s != code]
    return out


def remove_procedure(data: Mapping[str, Any], code: str) -> Data:
    """Remove a procedure: refused while a life event lists it (remove it there first)."""
    out = _copy(data)
    procedures = out["catalog"].setdefault("procedures", [])
    procedures.remove(_find(procedures, "code", code, "procedure"))
    events = [str(e.get("code")) for e in (out.get("life_events") or {}).get("events", [])
              if any(i.get("procedure") == code for i in e.get("items", [])
                     if isinstance(i, dict))]
    if events:
        raise Refused("procedure_in_use", f"life events list {code!r} ({_names(events)}): "
                      "remove it from them first, then remove the procedure")
    return out


def put_life_event(data: Mapping[str, Any], code: str, event: Mapping[str, Any]) -> Data:
    """Add or replace one life event ([[events]] of life_events.toml)."""
    out = _copy(data)
    life = out.get("life_events")
    if life is None:
        raise KeyError("there is no life-event catalog to add to (import life_events.toml)")
    events = life.setdefault("events", [])
    table = {**copy.deepcopy(dict(event)), "code": code}
    for i, e in enumerate(events):
        if isinstance(e, dict) and e.get("code") == code:
            events[i] = table
            return out
    events.append(table)
    return out


def delete_life_event(data: Mapping[str, Any], code: str) -> Data:
    """Remove one life event (the procedures it bundles stay in the catalog)."""
    out = _copy(data)
    events = (out.get("life_events") or {}).get("events", [])
    events.remove(_find(events, "code", code, "life event"))
    return out


def ward_parts_from(data: Mapping[str, Any], earlier: Mapping[str, Any], ward: str) -> Data:
    """`data` with one ward's own parts — its [[wards]] table (counters, services offered,
    hours) and its closed days and special openings — as they were in `earlier` (a ward's
    admin rolls back its ward's parts only; the city-wide parts stay as they are)."""
    out = _copy(data)
    old = _find(list((earlier.get("catalog") or {}).get("wards", [])), "code", ward, "ward")
    wards = out["catalog"].setdefault("wards", [])
    wards[wards.index(_ward(out, ward))] = copy.deepcopy(old)
    old_cal = earlier.get("calendar") or {}
    cal = out.setdefault("calendar", {}) or {}
    out["calendar"] = cal
    for key in ("closed", "open"):
        days = (old_cal.get(key) or {}).get(ward)
        table = cal.setdefault(key, {})
        if days:
            table[ward] = list(days)
        else:
            table.pop(ward, None)
    return out
