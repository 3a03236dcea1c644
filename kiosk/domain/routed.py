"""Checking a routed ticket request (contract-17's wire format) where it arrives: the
back-office's POST /api/v1/tickets, the kiosk outbox's upload. Pure, no I/O.

    request = parse_routed(body, catalog, ward)   # RoutedRequest, or RoutedError
    # RoutedError.key names the field: "route[1].procedures[0]", "applications[2].copies"

What it checks: `route` is a list of stages, each a service of the catalog the ward
offers with procedures of that service, every procedure once; `service`/`procedure`
(when given) name the first stage; `applications` holds exactly one application per
procedure of the route, each valid like a single ticket's (番号法: never the number
itself); `guide` entries have exactly the five non-personal keys, in bounds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kiosk.domain.application import Application, ApplicationError
from kiosk.domain.catalog import Catalog, Ward
from kiosk.domain.life_events import GuideItem, Place, Stage
from kiosk.domain.visit import RoutedRequest

MAX_STAGES = 12
MAX_GUIDE = 40
MAX_TEXT = 200
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_GUIDE_KEYS = {"name", "place", "office", "bring", "url"}


class RoutedError(ValueError):
    """A routed request does not fit; `key` names the field (for a 422)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


def parse_routed(data: Mapping[str, Any], catalog: Catalog,
                 ward: Ward | None = None) -> RoutedRequest:
    event = data.get("life_event")
    if not isinstance(event, str) or not _CODE.match(event):
        raise RoutedError("life_event", "must be a life event's code")
    stages = _route(data.get("route"), catalog, ward)
    first = stages[0]
    for key, want in (("service", first.service), ("procedure", first.procedures[0])):
        if data.get(key) is not None and data.get(key) != want:
            raise RoutedError(key, f"must name the first stage ({want!r})")
    applications = _applications(data.get("applications"), stages, catalog)
    guide = _guide(data.get("guide", []))
    return RoutedRequest(event, stages, applications, guide)


def _route(raw: object, catalog: Catalog, ward: Ward | None) -> tuple[Stage, ...]:
    if not isinstance(raw, list) or not raw:
        raise RoutedError("route", "must be a non-empty list of stages")
    if len(raw) > MAX_STAGES:
        raise RoutedError("route", f"has more than {MAX_STAGES} stages")
    seen: set[str] = set()
    stages = []
    for n, stage in enumerate(raw):
        at = f"route[{n}]"
        if not isinstance(stage, Mapping) or set(stage) != {"service", "procedures"}:
            raise RoutedError(at, "must be {\"service\": …, \"procedures\": […]}")
        service = stage["service"]
        if service not in catalog.services:
            raise RoutedError(f"{at}.service", f"there is no service {service!r}")
        if ward is not None and service not in ward.services:
            raise RoutedError(f"{at}.service",
                              f"ward {ward.code} does not offer service {service!r}")
        procs = stage["procedures"]
        if not isinstance(procs, list) or not procs:
            raise RoutedError(f"{at}.procedures", "must be a non-empty list")
        for i, code in enumerate(procs):
            key = f"{at}.procedures[{i}]"
            p = catalog.procedures.get(code) if isinstance(code, str) else None
            if p is None:
                raise RoutedError(key, f"there is no procedure {code!r}")
            if p.service != service:
                raise RoutedError(key, f"procedure {code} belongs to service "
                                  f"{p.service!r}, not {service!r}")
            if code in seen:
                raise RoutedError(key, f"procedure {code} is in the route twice")
            seen.add(code)
        stages.append(Stage(service, tuple(procs)))
    return tuple(stages)


def _applications(raw: object, stages: tuple[Stage, ...],
                  catalog: Catalog) -> tuple[Application, ...]:
    wanted = [c for st in stages for c in st.procedures]
    if not isinstance(raw, list):
        raise RoutedError("applications", "must be a list (one application per procedure)")
    out: dict[str, Application] = {}
    for n, app in enumerate(raw):
        at = f"applications[{n}]"
        code = app.get("procedure") if isinstance(app, Mapping) else None
        if not isinstance(app, Mapping) or code not in wanted:
            raise RoutedError(f"{at}.procedure", "must name a procedure of the route")
        if code in out:
            raise RoutedError(f"{at}.procedure", f"{code} has two applications")
        try:
            out[code] = Application.from_dict(app, catalog.procedure(code))
        except ApplicationError as exc:
            raise RoutedError(f"{at}.{exc.key}", exc.problem) from None
    missing = [c for c in wanted if c not in out]
    if missing:
        raise RoutedError("applications", f"no application for {', '.join(missing)}")
    return tuple(out[c] for c in wanted)


def _text(value: object, key: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise RoutedError(key, f"must be a text of 1 to {MAX_TEXT} characters")
    return value


def _guide(raw: object) -> tuple[GuideItem, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_GUIDE:
        raise RoutedError("guide", f"must be a list of at most {MAX_GUIDE} entries")
    out = []
    for n, g in enumerate(raw):
        at = f"guide[{n}]"
        if not isinstance(g, Mapping) or set(g) != _GUIDE_KEYS:
            raise RoutedError(at, f"must have exactly {', '.join(sorted(_GUIDE_KEYS))}")
        try:
            place = Place(g["place"])
        except ValueError:
            raise RoutedError(f"{at}.place", "must be here, other or online") from None
        bring = g["bring"]
        if not isinstance(bring, list) or len(bring) > MAX_GUIDE:
            raise RoutedError(f"{at}.bring", "must be a list of texts")
        things = tuple(_text(b, f"{at}.bring[{i}]") or "" for i, b in enumerate(bring))
        out.append(GuideItem(name=_text(g["name"], f"{at}.name") or "", place=place,
                             office=_text(g["office"], f"{at}.office", optional=True),
                             bring=things, url=_text(g["url"], f"{at}.url", optional=True)))
    return tuple(out)
