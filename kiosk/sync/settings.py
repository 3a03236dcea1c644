"""The `[backoffice]` and `[store]` sections of config/kiosk.toml, validated.

Relative paths are resolved against the folder of the config file, so a provisioned
kiosk can keep its token, key and database next to its config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.configfile import read_kiosk_config
from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Defaults, Section

BACKOFFICE_KEYS = (
    "url", "ward", "device_token_file", "ca_bundle", "insecure_http", "connect_timeout",
    "read_timeout", "issue_timeout", "retries", "backoff_base", "backoff_max",
    "heartbeat_seconds", "pull_seconds", "wait_seconds",
)
STORE_KEYS = ("path", "key_file", "synchronous", "block_size", "block_refill_below",
              "send_batch", "dead_max_days")


@dataclass(frozen=True)
class BackofficeSettings:
    url: str
    ward: str
    device_token_file: Path
    ca_bundle: Path | None        # None: the system trust store
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    issue_timeout: float = 2.5    # budget for an online ticket before issuing offline
    retries: int = 3
    backoff_base: float = 0.2
    backoff_max: float = 15.0
    heartbeat_seconds: float = 30.0
    pull_seconds: float = 300.0   # catalog and opening hours
    wait_seconds: float = 15.0    # wait estimates
    insecure_http: bool = False   # plain http:// allowed (demo and tests only)

    def check_transport(self) -> None:
        """Refuse a plain http:// back-office unless insecure_http says so: the device
        token travels in every request."""
        if urlsplit(self.url).scheme == "http" and not self.insecure_http:
            raise ConfigError("kiosk settings", "backoffice.url", insecure_http_refusal(self.url))

    @property
    def verify(self) -> bool | str:
        """What requests checks the back-office's certificate against: the pinned CA
        bundle, else the system trust store. Every client of the back-office uses this."""
        return str(self.ca_bundle) if self.ca_bundle else True

    def device_token(self) -> str:
        try:
            token = self.device_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(str(self.device_token_file), "(file)",
                              f"cannot read the device token: {exc.strerror}") from None
        if not token:
            raise ConfigError(str(self.device_token_file), "(file)", "the device token is empty")
        return token


@dataclass(frozen=True)
class StoreSettings:
    path: Path
    key_file: Path
    # NORMAL: every commit survives a killed process, offline numbers also a power cut;
    # FULL: every commit survives a power cut (one fsync per commit, ~10 ms on slow disks).
    synchronous: str = "NORMAL"
    block_size: int = 50           # offline numbers reserved per service per request
    block_refill_below: int = 20   # top up when fewer are left
    send_batch: int = 100          # outbox messages sent per request where batching exists
    # A message the back-office refused for good is deleted, sealed personal data and all,
    # this many days after it was written (the back-office's [retention] max_days).
    dead_max_days: int = 3


@dataclass(frozen=True)
class SyncSettings:
    backoffice: BackofficeSettings
    store: StoreSettings


def _path(s: Section, name: str, base: Path, default: object = None) -> Path:
    raw = s.text(name) if default is None else s.text(name, str(default))
    p = Path(os.path.expanduser(raw))
    return p if p.is_absolute() else base / p


def insecure_http_refusal(url: str) -> str:
    return (f"{url!r} is plain http://: the kiosk's device token would travel in clear; "
            "use https:// (with ca_bundle), or set insecure_http = true — only for the demo "
            "and tests, never on a kiosk in a ward office")


def parse_backoffice(s: Section, base: Path) -> BackofficeSettings:
    s.unknown_keys(BACKOFFICE_KEYS)
    d = Defaults(BackofficeSettings)
    url = s.text("url").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise s.error("url", f"must be an https:// URL, got {url!r}")
    insecure_http = s.flag("insecure_http", d.insecure_http)
    if parts.scheme == "http" and not insecure_http:
        raise s.error("url", insecure_http_refusal(url))
    # "" (or absent) means the system trust store; anything else must name a file.
    ca = s.data.get("ca_bundle", "")
    if ca != "":
        s.text("ca_bundle")
    return BackofficeSettings(
        url=url,
        ward=s.text("ward"),
        device_token_file=_path(s, "device_token_file", base),
        ca_bundle=(_path(s, "ca_bundle", base) if ca else None),
        connect_timeout=s.number("connect_timeout", d.connect_timeout, min=0.05),
        read_timeout=s.number("read_timeout", d.read_timeout, min=0.05),
        issue_timeout=s.number("issue_timeout", d.issue_timeout, min=0.05),
        retries=s.integer("retries", d.retries, min=1, max=20),
        backoff_base=s.number("backoff_base", d.backoff_base, min=0.001),
        backoff_max=s.number("backoff_max", d.backoff_max, min=0.01),
        heartbeat_seconds=s.number("heartbeat_seconds", d.heartbeat_seconds, min=0.1),
        pull_seconds=s.number("pull_seconds", d.pull_seconds, min=0.1),
        wait_seconds=s.number("wait_seconds", d.wait_seconds, min=0.1),
        insecure_http=insecure_http,
    )


def parse_store(s: Section, base: Path) -> StoreSettings:
    s.unknown_keys(STORE_KEYS)
    d = Defaults(StoreSettings)
    return StoreSettings(
        path=_path(s, "path", base),
        key_file=_path(s, "key_file", base),
        synchronous=s.text("synchronous", d.synchronous, choices=("FULL", "EXTRA", "NORMAL")),
        block_size=s.integer("block_size", d.block_size, min=1, max=999),
        block_refill_below=s.integer("block_refill_below", d.block_refill_below, min=0,
                                     max=999),
        send_batch=s.integer("send_batch", d.send_batch, min=1, max=1000),
        dead_max_days=s.integer("dead_max_days", d.dead_max_days, min=1, max=365),
    )


def parse_settings(data: dict[str, Any], file: str, base: Path) -> SyncSettings:
    root = Section(data, file)
    return SyncSettings(backoffice=parse_backoffice(root.section("backoffice"), base),
                        store=parse_store(root.section("store"), base))


def load_settings(path: str | os.PathLike[str] | None = None) -> SyncSettings:
    root = read_kiosk_config(path)
    return parse_settings(dict(root.data), root.file, Path(root.file).parent)
