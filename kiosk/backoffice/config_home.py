"""[public] of config/backoffice.toml: the pages a resident opens from home (issue #19) —
the congestion page's levels, history and forecast, how long it may be cached, where it
may be embedded (`frame-ancestors`), and the rate limit of every public endpoint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from kiosk.domain.section import Section

# A CSP source expression for frame-ancestors: an https origin (optionally *.host) or 'self'.
_ORIGIN = re.compile(r"^(?:'self'|https://(?:\*\.)?[a-z0-9.-]+(?::\d{1,5})?)$")


@dataclass(frozen=True)
class PublicSettings:
    frame_ancestors: tuple[str, ...] = ()  # () = 'none': no site may frame the pages
    cache_seconds: int = 30                # Cache-Control max-age of the congestion page/JSON
    requests_per_minute: int = 120         # per client address, all public endpoints together
    somewhat_busy_minutes: int = 15        # estimated wait above this: やや混雑
    busy_minutes: int = 40                 # ... above this: 混雑
    history_weeks: int = 8                 # the typical week and the forecast learn from these
    forecast_hours: int = 3                # the coming hours shown

    def level(self, wait_seconds: int | None) -> str:
        """free (空いています) / somewhat (やや混雑) / busy (混雑) by the estimated wait."""
        minutes = (wait_seconds or 0) / 60
        if minutes > self.busy_minutes:
            return "busy"
        return "somewhat" if minutes > self.somewhat_busy_minutes else "free"

    @property
    def frame_ancestors_csp(self) -> str:
        return " ".join(self.frame_ancestors) if self.frame_ancestors else "'none'"


def public_settings(p: Section) -> PublicSettings:
    d = PublicSettings()
    p.unknown_keys(tuple(PublicSettings.__dataclass_fields__))
    ancestors = p.texts("frame_ancestors", d.frame_ancestors)
    for origin in ancestors:
        if not _ORIGIN.fullmatch(origin):
            raise p.error("frame_ancestors", f"each must be 'self' or https://host[:port], "
                                             f"got {origin!r}")
    out = PublicSettings(
        frame_ancestors=ancestors,
        cache_seconds=p.integer("cache_seconds", d.cache_seconds, min=0, max=3600),
        requests_per_minute=p.integer("requests_per_minute", d.requests_per_minute, min=1,
                                      max=100_000),
        somewhat_busy_minutes=p.integer("somewhat_busy_minutes", d.somewhat_busy_minutes,
                                        min=0, max=24 * 60),
        busy_minutes=p.integer("busy_minutes", d.busy_minutes, min=1, max=24 * 60),
        history_weeks=p.integer("history_weeks", d.history_weeks, min=1, max=52),
        forecast_hours=p.integer("forecast_hours", d.forecast_hours, min=1, max=12))
    if out.busy_minutes <= out.somewhat_busy_minutes:
        raise p.error("busy_minutes", f"must be more than somewhat_busy_minutes "
                                      f"({out.somewhat_busy_minutes}), got {out.busy_minutes}")
    return out


@dataclass(frozen=True)
class AppointmentSettings:
    """[appointments]: holds, check-in window, late and no-show rules, the fairness lead,
    the limits per contact and per address, and each ward's closures and openings."""

    hold_minutes: int = 10            # a slot chosen on the page is held this long
    check_in_early_minutes: int = 30  # the kiosk takes the code from this long before the slot
    check_in_late_minutes: int = 15   # ... until this long after it; later: a walk-in ticket
    no_show_minutes: int = 30         # not checked in this long after the slot: no-show
    lead_minutes: int = 10            # an appointment queues as if it came this long before
                                      # its slot (the fairness rule, docs/home.md)
    max_per_contact: int = 2          # active bookings per e-mail / phone
    max_per_address: int = 6          # bookings made per client address per office day
    no_show_check_seconds: int = 60   # how often each server process marks no-shows (0: never)
    closures: Mapping[str, tuple[date, ...]] = field(default_factory=dict)
    openings: Mapping[str, tuple[date, ...]] = field(default_factory=dict)
    # the key of the stored contact/address hashes, made on first start (hash_key.py)
    hash_key_file: str = "var/appointment-hash-key"


def _days(s: Section, name: str) -> dict[str, tuple[date, ...]]:
    table = s.section(name, {})
    out: dict[str, tuple[date, ...]] = {}
    for ward in table.data:
        days = []
        for text in table.texts(ward):
            try:
                days.append(date.fromisoformat(text))
            except ValueError:
                raise table.error(ward, f"must be YYYY-MM-DD dates, got {text!r}") from None
        out[ward] = tuple(days)
    return out


def appointment_settings(a: Section) -> AppointmentSettings:
    a.unknown_keys(tuple(AppointmentSettings.__dataclass_fields__))
    d = AppointmentSettings()
    minutes = {name: a.integer(name, getattr(d, name), min=0, max=24 * 60)
               for name in ("hold_minutes", "check_in_early_minutes", "check_in_late_minutes",
                            "no_show_minutes", "lead_minutes")}
    if minutes["hold_minutes"] < 1:
        raise a.error("hold_minutes", "must be at least 1")
    return AppointmentSettings(
        **minutes,
        max_per_contact=a.integer("max_per_contact", d.max_per_contact, min=1, max=100),
        max_per_address=a.integer("max_per_address", d.max_per_address, min=1, max=10_000),
        no_show_check_seconds=a.integer("no_show_check_seconds", d.no_show_check_seconds,
                                        min=0, max=24 * 3600),
        closures=_days(a, "closures"), openings=_days(a, "openings"),
        hash_key_file=a.text("hash_key_file", d.hash_key_file))


@dataclass(frozen=True)
class RemoteSettings:
    """[remote]: a place in today's queue from home (which services: [services.remote] of
    the catalog) — the "almost your turn" point, how long after it a place may still be
    checked in, and the limit per client address."""

    almost_ahead: int = 3             # at most this many people ahead: "almost your turn"
    check_in_minutes: int = 15        # check in at a kiosk within this after that point
    max_per_address: int = 3          # places taken per client address per office day
    sweep_seconds: float = 30.0       # the almost-your-turn clock and no-shows on a timer; 0 off


def remote_settings(r: Section) -> RemoteSettings:
    r.unknown_keys(tuple(RemoteSettings.__dataclass_fields__))
    d = RemoteSettings()
    return RemoteSettings(
        almost_ahead=r.integer("almost_ahead", d.almost_ahead, min=0, max=100),
        check_in_minutes=r.integer("check_in_minutes", d.check_in_minutes, min=1, max=24 * 60),
        max_per_address=r.integer("max_per_address", d.max_per_address, min=1, max=10_000),
        sweep_seconds=r.number("sweep_seconds", d.sweep_seconds, min=0))
