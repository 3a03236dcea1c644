"""Back-office settings from config/backoffice.toml, validated with errors naming file + key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.configfile import CONFIG_DIR, read_toml
from kiosk.domain.section import Section

PRIORITIES = ("normal", "priority", "appointment", "assistance")


@dataclass(frozen=True)
class ServerSettings:
    timezone: str = "Asia/Tokyo"
    public_url: str = ""
    max_body_bytes: int = 262144
    db_pool_size: int = 4
    threads: int = 4

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SecuritySettings:
    session_hours: int = 12
    idle_minutes: int = 30           # a session unused this long is ended
    login_max_failures: int = 5      # per (username, address) before the back-off
    login_address_max_failures: int = 20  # per address, whatever the usernames
    login_window_seconds: int = 900
    login_backoff_seconds: int = 60  # first lock-out; doubles each time, at most the window
    token_cache_seconds: int = 5
    cookie_secure: bool = False
    api_docs: bool = False           # serve /docs, /redoc and /openapi.json


@dataclass(frozen=True)
class QueueSettings:
    enforce_opening_hours: bool = True
    transfer_keeps_place: bool = True
    estimate_samples: int = 20
    estimate_prior_weight: int = 3
    max_block_size: int = 200
    block_days_ahead: int = 7
    # Offline blocks come from their own range of each day's numbers, so online numbers
    # stay low ("how many are before me"); online numbers jump over the range.
    offline_first: int = 901
    offline_last: int = 1999
    priority_rank: Mapping[str, int] = field(default_factory=lambda: {
        "appointment": 0, "priority": 1, "assistance": 1, "normal": 2})


@dataclass(frozen=True)
class EventSettings:
    keepalive_seconds: int = 15
    replay_limit: int = 200
    subscriber_queue: int = 1000
    max_streams_per_credential: int = 8
    max_streams_total: int = 4000
    status_recheck_seconds: int = 60
    position_every_seconds: float = 1.0
    position_slowest_seconds: float = 30.0


DAY_END = "day_end"


@dataclass(frozen=True)
class RetentionSettings:
    """How long a ticket's application record (personal data) stays: see retention.py."""

    # "day_end": until the end of the office day the ticket finished on; else minutes.
    finished_grace: str | int = DAY_END
    max_days: int = 3
    check_seconds: int = 600  # 0: no purge inside the server (run `purge` from cron)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    events: EventSettings = field(default_factory=EventSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str = "backoffice.toml") -> Settings:
        root = Section(data, file)
        root.unknown_keys(("server", "security", "queue", "events", "retention"))
        s = root.section("server", {})
        s.unknown_keys(("timezone", "public_url", "max_body_bytes", "db_pool_size", "threads"))
        tz = s.text("timezone", "Asia/Tokyo")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise s.error("timezone", f"unknown time zone {tz!r}") from None
        public_url = s.data.get("public_url", "")
        if not isinstance(public_url, str):
            raise s.error("public_url", f"must be a string, got {public_url!r}")
        if public_url and not public_url.startswith(("http://", "https://")):
            raise s.error("public_url", f"must start with http:// or https://, got {public_url!r}")
        server = ServerSettings(
            timezone=tz, public_url=public_url.rstrip("/"),
            max_body_bytes=s.integer("max_body_bytes", 262144, min=1024, max=10_000_000),
            db_pool_size=s.integer("db_pool_size", 4, min=1, max=200),
            threads=s.integer("threads", 4, min=1, max=200))
        c = root.section("security", {})
        c.unknown_keys(("session_hours", "idle_minutes", "login_max_failures",
                        "login_address_max_failures", "login_window_seconds",
                        "login_backoff_seconds", "token_cache_seconds", "cookie_secure",
                        "api_docs"))
        security = SecuritySettings(
            session_hours=c.integer("session_hours", 12, min=1, max=24 * 30),
            idle_minutes=c.integer("idle_minutes", 30, min=1, max=24 * 60),
            login_max_failures=c.integer("login_max_failures", 5, min=1, max=1000),
            login_address_max_failures=c.integer("login_address_max_failures", 20, min=1,
                                                 max=100_000),
            login_window_seconds=c.integer("login_window_seconds", 900, min=1,
                                           max=7 * 24 * 3600),
            login_backoff_seconds=c.integer("login_backoff_seconds", 60, min=1,
                                            max=7 * 24 * 3600),
            token_cache_seconds=c.integer("token_cache_seconds", 5, min=0, max=300),
            cookie_secure=c.flag("cookie_secure", False),
            api_docs=c.flag("api_docs", False))
        q = root.section("queue", {})
        q.unknown_keys(("enforce_opening_hours", "transfer_keeps_place", "estimate_samples",
                        "estimate_prior_weight", "max_block_size", "block_days_ahead",
                        "offline_first", "offline_last", "priority_rank"))
        ranks = q.section("priority_rank", {})
        ranks.unknown_keys(PRIORITIES)
        rank = {p: ranks.integer(p, QueueSettings().priority_rank[p], min=0, max=9)
                for p in PRIORITIES}
        queue = QueueSettings(
            enforce_opening_hours=q.flag("enforce_opening_hours", True),
            transfer_keeps_place=q.flag("transfer_keeps_place", True),
            estimate_samples=q.integer("estimate_samples", 20, min=1, max=10_000),
            estimate_prior_weight=q.integer("estimate_prior_weight", 3, min=0, max=1000),
            max_block_size=q.integer("max_block_size", 200, min=1, max=10_000),
            block_days_ahead=q.integer("block_days_ahead", 7, min=0, max=60),
            offline_first=q.integer("offline_first", 901, min=2, max=1_000_000),
            offline_last=q.integer("offline_last", 1999, min=2, max=1_000_000),
            priority_rank=rank)
        if queue.offline_last < queue.offline_first:
            raise q.error("offline_last", f"must be ≥ offline_first ({queue.offline_first}), "
                          f"got {queue.offline_last}")
        e = root.section("events", {})
        e.unknown_keys(("keepalive_seconds", "replay_limit", "subscriber_queue",
                        "max_streams_per_credential", "max_streams_total",
                        "status_recheck_seconds", "position_every_seconds",
                        "position_slowest_seconds"))
        events = EventSettings(
            keepalive_seconds=e.integer("keepalive_seconds", 15, min=1, max=300),
            replay_limit=e.integer("replay_limit", 200, min=0, max=5000),
            subscriber_queue=e.integer("subscriber_queue", 1000, min=10, max=100_000),
            max_streams_per_credential=e.integer("max_streams_per_credential", 8, min=1,
                                                 max=1000),
            max_streams_total=e.integer("max_streams_total", 4000, min=1, max=1_000_000),
            status_recheck_seconds=e.integer("status_recheck_seconds", 60, min=1, max=3600),
            position_every_seconds=e.number("position_every_seconds", 1.0, min=0.05),
            position_slowest_seconds=e.number("position_slowest_seconds", 30.0, min=0.05))
        return cls(server=server, security=security, queue=queue, events=events,
                   retention=_retention(root.section("retention", {})), source=file)


def _retention(r: Section) -> RetentionSettings:
    r.unknown_keys(("finished_grace", "max_days", "check_seconds"))
    grace = r.data.get("finished_grace", DAY_END)
    if grace != DAY_END and (isinstance(grace, bool) or not isinstance(grace, int)
                             or not 0 <= grace <= 7 * 24 * 60):
        raise r.error("finished_grace", f'must be "{DAY_END}" or minutes (0..10080), '
                      f"got {grace!r}")
    return RetentionSettings(
        finished_grace=grace,
        max_days=r.integer("max_days", 3, min=1, max=366),
        check_seconds=r.integer("check_seconds", 600, min=0, max=86_400))


def default_config_path() -> Path:
    return CONFIG_DIR / "backoffice.toml"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    p = Path(path) if path is not None else default_config_path()
    return Settings.from_mapping(read_toml(p), file=str(p))
