"""Back-office settings from config/backoffice.toml, validated with errors naming file + key."""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.backoffice.announcements import AnnouncementSettings
from kiosk.backoffice.config_home import (
    AppointmentSettings,
    PublicSettings,
    RemoteSettings,
    appointment_settings,
    public_settings,
    remote_settings,
)
from kiosk.backoffice.config_notify import NotifySettings, notify_settings
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
    # SQLite: tickets per group-commit transaction at most; 0 = no group writer (groupcommit.py)
    group_commit_max: int = 256

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


STAGE_ORDERS = ("issued", "arrival", "front")
ESTIMATORS = ("learned", "clerk")  # estimate.py: the served wait estimate (issue #22)


@dataclass(frozen=True)
class QueueSettings:
    enforce_opening_hours: bool = True
    transfer_keeps_place: bool = True
    # Where a routed visit waits in its next stage's queue: by its issue time ("issued"),
    # by its arrival at the stage ("arrival", the back) or at the front ("front").
    stage_order: str = "issued"
    estimate_samples: int = 20
    estimate_prior_weight: int = 3
    estimator: str = "learned"
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
class CalendarSettings:
    """[calendar]: the days a ward is closed beyond its weekly hours (engine/office_days)."""
    national_holidays: bool = True   # 国民の祝日・振替休日 (the `holidays` library)
    year_end: bool = True            # 年末年始: 12/29 to 1/3
    closed: Mapping[str, frozenset[date]] = field(default_factory=dict)   # ward → days
    opened: Mapping[str, frozenset[date]] = field(default_factory=dict)   # ward → 休日開庁


@dataclass(frozen=True)
class CatalogSettings:
    """[catalog]: how often each process looks for a newer catalog version (the admin
    pages store one; kiosk/backoffice/catalog_versions.py). 0: never (tests, one-offs)."""
    poll_seconds: float = 1.0


@dataclass(frozen=True)
class DeviceSettings:
    """[devices]: when a silent device counts as lost, how long its history is kept and
    how often the supervisor's device stream looks for changes."""
    stale_seconds: int = 120         # a heartbeat older than this raises the alarm
    history_days: int = 30           # state changes kept per device (then deleted)
    stream_poll_seconds: float = 1.0
    enrolment_hours: int = 72        # a device's one-time enrolment code is valid this long


@dataclass(frozen=True)
class FleetSettings:
    """[fleet]: where the kiosk image bundles this server serves are (a release names its
    file there); "" = this server serves none (releases name an https:// url instead).
    `keyring`: the update CA (PEM) a bundle in bundle_dir is verified against when it is
    registered (`rauc info --keyring`); "" = not checked (a warning; the kiosk's RAUC
    still checks at install). `max_downloads`: bundle downloads served at once by one
    process; beyond it a kiosk is answered 503 + Retry-After."""
    bundle_dir: str = ""
    keyring: str = ""
    max_downloads: int = 8
    retry_after_seconds: int = 30


@dataclass(frozen=True)
class BackofficePaymentSettings:
    """[payment]: the code-payment provider. Its API key and webhook secret come from the
    environment variables named here, never from a file, and never reach a kiosk."""
    provider: str = "http"
    provider_url: str = "http://127.0.0.1:8700"
    api_key_env: str = "PAYMENT_PROVIDER_API_KEY"
    webhook_secret_env: str = "PAYMENT_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
    # PayPay (provider = "paypay"): its secret and merchant id, also from the environment;
    # environment: the SDK's sandbox or production URL, or "standin" = provider_url.
    api_secret_env: str = "PAYMENT_PROVIDER_API_SECRET"  # noqa: S105 - a variable's name
    merchant_id_env: str = "PAYMENT_PROVIDER_MERCHANT_ID"
    environment: str = "sandbox"
    # Addresses (CIDR) the provider's webhook may come from; empty: any. For a provider
    # whose webhook is unsigned (PayPay publishes its senders' addresses instead).
    webhook_sources: tuple[str, ...] = ()
    webhook_url: str = ""
    webhook_tolerance: int = 300
    code_expiry: int = 180
    poll_after: float = 3.0
    merchant_name: str = "WARD OFFICE"
    merchant_name_ja: str = ""
    merchant_city: str = "SAKAI"

    def api_key(self) -> str:
        return os.environ.get(self.api_key_env, "")

    def api_secret(self) -> str:
        return os.environ.get(self.api_secret_env, "")

    def merchant_id(self) -> str:
        return os.environ.get(self.merchant_id_env, "")

    def webhook_from(self, address: str) -> bool:
        """May a webhook come from `address` (the peer's IP)?"""
        if not self.webhook_sources:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.webhook_sources)

    def webhook_secret(self) -> bytes:
        return os.environ.get(self.webhook_secret_env, "").encode()


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    events: EventSettings = field(default_factory=EventSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    payment: BackofficePaymentSettings = field(default_factory=BackofficePaymentSettings)
    announcements: AnnouncementSettings = field(default_factory=AnnouncementSettings)
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    public: PublicSettings = field(default_factory=PublicSettings)
    appointments: AppointmentSettings = field(default_factory=AppointmentSettings)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str = "backoffice.toml") -> Settings:
        root = Section(data, file)
        root.unknown_keys(("server", "security", "queue", "events", "retention", "payment",
                           "announcements", "devices", "calendar", "public",
                           "appointments", "remote", "notify", "catalog", "fleet"))
        ds, dc, dq, de = ServerSettings(), SecuritySettings(), QueueSettings(), EventSettings()
        s = root.section("server", {})
        s.unknown_keys(("timezone", "public_url", "max_body_bytes", "db_pool_size", "threads",
                        "group_commit_max"))
        tz = s.text("timezone", ds.timezone)
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
            max_body_bytes=s.integer("max_body_bytes", ds.max_body_bytes, min=1024, max=10_000_000),
            db_pool_size=s.integer("db_pool_size", ds.db_pool_size, min=1, max=200),
            threads=s.integer("threads", ds.threads, min=1, max=200),
            group_commit_max=s.integer("group_commit_max", ds.group_commit_max, min=0,
                                       max=10_000))
        c = root.section("security", {})
        c.unknown_keys(("session_hours", "idle_minutes", "login_max_failures",
                        "login_address_max_failures", "login_window_seconds",
                        "login_backoff_seconds", "token_cache_seconds", "cookie_secure",
                        "api_docs"))
        security = SecuritySettings(
            session_hours=c.integer("session_hours", dc.session_hours, min=1, max=24 * 30),
            idle_minutes=c.integer("idle_minutes", dc.idle_minutes, min=1, max=24 * 60),
            login_max_failures=c.integer("login_max_failures", dc.login_max_failures,
                                         min=1, max=1000),
            login_address_max_failures=c.integer(
                "login_address_max_failures", dc.login_address_max_failures, min=1,
                max=100_000),
            login_window_seconds=c.integer("login_window_seconds", dc.login_window_seconds, min=1,
                                           max=7 * 24 * 3600),
            login_backoff_seconds=c.integer("login_backoff_seconds", dc.login_backoff_seconds,
                                            min=1, max=7 * 24 * 3600),
            token_cache_seconds=c.integer("token_cache_seconds", dc.token_cache_seconds,
                                          min=0, max=300),
            cookie_secure=c.flag("cookie_secure", dc.cookie_secure),
            api_docs=c.flag("api_docs", dc.api_docs))
        q = root.section("queue", {})
        q.unknown_keys(("enforce_opening_hours", "transfer_keeps_place", "estimate_samples",
                        "estimate_prior_weight", "max_block_size", "block_days_ahead",
                        "offline_first", "offline_last", "priority_rank", "stage_order",
                        "estimator"))
        ranks = q.section("priority_rank", {})
        ranks.unknown_keys(PRIORITIES)
        rank = {p: ranks.integer(p, QueueSettings().priority_rank[p], min=0, max=9)
                for p in PRIORITIES}
        queue = QueueSettings(
            enforce_opening_hours=q.flag("enforce_opening_hours", dq.enforce_opening_hours),
            transfer_keeps_place=q.flag("transfer_keeps_place", dq.transfer_keeps_place),
            stage_order=q.text("stage_order", dq.stage_order, choices=STAGE_ORDERS),
            estimate_samples=q.integer("estimate_samples", dq.estimate_samples, min=1, max=10_000),
            estimate_prior_weight=q.integer("estimate_prior_weight", dq.estimate_prior_weight,
                                            min=0, max=1000),
            estimator=q.text("estimator", dq.estimator, choices=ESTIMATORS),
            max_block_size=q.integer("max_block_size", dq.max_block_size, min=1, max=10_000),
            block_days_ahead=q.integer("block_days_ahead", dq.block_days_ahead, min=0, max=60),
            offline_first=q.integer("offline_first", dq.offline_first, min=2, max=1_000_000),
            offline_last=q.integer("offline_last", dq.offline_last, min=2, max=1_000_000),
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
            keepalive_seconds=e.integer("keepalive_seconds", de.keepalive_seconds, min=1, max=300),
            replay_limit=e.integer("replay_limit", de.replay_limit, min=0, max=5000),
            subscriber_queue=e.integer("subscriber_queue", de.subscriber_queue,
                                       min=10, max=100_000),
            max_streams_per_credential=e.integer(
                "max_streams_per_credential", de.max_streams_per_credential, min=1, max=1000),
            max_streams_total=e.integer("max_streams_total", de.max_streams_total,
                                        min=1, max=1_000_000),
            status_recheck_seconds=e.integer("status_recheck_seconds", de.status_recheck_seconds,
                                             min=1, max=3600),
            position_every_seconds=e.number("position_every_seconds", de.position_every_seconds,
                                            min=0.05),
            position_slowest_seconds=e.number("position_slowest_seconds",
                                              de.position_slowest_seconds, min=0.05))
        return cls(server=server, security=security, queue=queue, events=events,
                   retention=_retention(root.section("retention", {})),
                   payment=_payment(root.section("payment", {})),
                   announcements=AnnouncementSettings.from_section(
                       root.section("announcements", {})),
                   devices=_devices(root.section("devices", {})),
                   catalog=_catalog(root.section("catalog", {})),
                   calendar=calendar_settings(root.section("calendar", {})),
                   public=public_settings(root.section("public", {})),
                   appointments=appointment_settings(root.section("appointments", {})),
                   remote=remote_settings(root.section("remote", {})),
                   notify=notify_settings(root.section("notify", {})),
                   fleet=_fleet(root.section("fleet", {}), file),
                   source=file)


def _days(s: Section, name: str) -> dict[str, frozenset[date]]:
    """[calendar.closed] / [calendar.open]: ward code → ["YYYY-MM-DD", …]."""
    table = s.section(name, {})
    out: dict[str, frozenset[date]] = {}
    for ward in table.data:
        days = []
        for text in table.texts(ward, []):
            try:
                days.append(date.fromisoformat(text))
            except ValueError:
                raise table.error(ward, f"{text!r} is not a date (YYYY-MM-DD)") from None
        out[ward] = frozenset(days)
    return out


def calendar_settings(c: Section) -> CalendarSettings:
    c.unknown_keys(("national_holidays", "year_end", "closed", "open"))
    d = CalendarSettings()
    return CalendarSettings(national_holidays=c.flag("national_holidays", d.national_holidays),
                            year_end=c.flag("year_end", d.year_end),
                            closed=_days(c, "closed"), opened=_days(c, "open"))


def _catalog(c: Section) -> CatalogSettings:
    c.unknown_keys(("poll_seconds",))
    return CatalogSettings(poll_seconds=c.number("poll_seconds", CatalogSettings.poll_seconds,
                                                 min=0))


def _fleet(f: Section, file: str) -> FleetSettings:
    f.unknown_keys(("bundle_dir", "keyring", "max_downloads", "retry_after_seconds"))
    paths = {}
    for key in ("bundle_dir", "keyring"):
        value = "" if f.data.get(key) in (None, "") else f.text(key)
        if value and not Path(value).is_absolute():
            value = str((Path(file).parent / value).resolve())
        paths[key] = value
    if paths["keyring"]:
        if not Path(paths["keyring"]).is_file():
            raise f.error("keyring", f"{paths['keyring']!r} is not a file (the update CA, PEM)")
        if shutil.which("rauc") is None:
            raise f.error("keyring", "checking bundles needs RAUC on this host (Debian "
                          "package rauc; only its `rauc info` is used)")
    d = FleetSettings()
    return FleetSettings(
        **paths, max_downloads=int(f.number("max_downloads", d.max_downloads, min=1)),
        retry_after_seconds=int(f.number("retry_after_seconds", d.retry_after_seconds,
                                         min=1)))


def _devices(d: Section) -> DeviceSettings:
    d.unknown_keys(tuple(DeviceSettings.__dataclass_fields__))
    x = DeviceSettings()
    return DeviceSettings(
        stale_seconds=d.integer("stale_seconds", x.stale_seconds, min=5, max=86_400),
        history_days=d.integer("history_days", x.history_days, min=1, max=3660),
        stream_poll_seconds=d.number("stream_poll_seconds", x.stream_poll_seconds, min=0.2),
        enrolment_hours=d.integer("enrolment_hours", x.enrolment_hours, min=1, max=24 * 90))


def _retention(r: Section) -> RetentionSettings:
    r.unknown_keys(("finished_grace", "max_days", "check_seconds"))
    grace = r.data.get("finished_grace", DAY_END)
    if grace != DAY_END and (isinstance(grace, bool) or not isinstance(grace, int)
                             or not 0 <= grace <= 7 * 24 * 60):
        raise r.error("finished_grace", f'must be "{DAY_END}" or minutes (0..10080), '
                      f"got {grace!r}")
    d = RetentionSettings()
    return RetentionSettings(
        finished_grace=grace,
        max_days=r.integer("max_days", d.max_days, min=1, max=366),
        check_seconds=r.integer("check_seconds", d.check_seconds, min=0, max=86_400))


def _payment(b: Section) -> BackofficePaymentSettings:
    b.unknown_keys(tuple(BackofficePaymentSettings.__dataclass_fields__))
    d = BackofficePaymentSettings()
    url = b.text("provider_url", d.provider_url)
    if not url.startswith(("http://", "https://")):
        raise b.error("provider_url", f"must start with http:// or https://, got {url!r}")
    hook = b.text("webhook_url", d.webhook_url)
    if hook and not hook.startswith(("http://", "https://")):
        raise b.error("webhook_url", f"must start with http:// or https://, got {hook!r}")
    name = b.text("merchant_name", d.merchant_name)
    if len(name) > 25 or not name.isascii():
        raise b.error("merchant_name", "must be Latin letters, at most 25 (JPQR tag 59)")
    city = b.text("merchant_city", d.merchant_city)
    if len(city) > 15 or not city.isascii():
        raise b.error("merchant_city", "must be Latin letters, at most 15 (JPQR tag 60)")
    sources = b.texts("webhook_sources", d.webhook_sources)
    for net in sources:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise b.error("webhook_sources", f"not an address or CIDR block: {net!r}") from None
    return BackofficePaymentSettings(
        webhook_sources=sources,
        provider=b.text("provider", d.provider, choices=("http", "paypay")), provider_url=url,
        api_key_env=b.text("api_key_env", d.api_key_env),
        api_secret_env=b.text("api_secret_env", d.api_secret_env),
        merchant_id_env=b.text("merchant_id_env", d.merchant_id_env),
        environment=b.text("environment", d.environment,
                           choices=("sandbox", "production", "standin")),
        webhook_secret_env=b.text("webhook_secret_env", d.webhook_secret_env),
        webhook_url=hook, webhook_tolerance=b.integer("webhook_tolerance", d.webhook_tolerance,
                                                      min=5),
        code_expiry=b.integer("code_expiry", d.code_expiry, min=10, max=3600),
        poll_after=b.number("poll_after", d.poll_after, min=0), merchant_name=name,
        merchant_name_ja=b.text("merchant_name_ja", d.merchant_name_ja), merchant_city=city)


def default_config_path() -> Path:
    return CONFIG_DIR / "backoffice.toml"


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    p = Path(path) if path is not None else default_config_path()
    return Settings.from_mapping(read_toml(p), file=str(p))
