"""config/payment.toml, validated with `Section` (errors name file + key)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.configfile import CONFIG_DIR, read_toml
from kiosk.domain.payment import PaymentMethod
from kiosk.domain.section import Section


@dataclass(frozen=True)
class TerminalSettings:
    kind: str = "nexo"
    host: str = "127.0.0.1"
    port: int = 4100
    sale_id: str = "kiosk"
    timeout: float = 90.0
    recover: float = 10.0


@dataclass(frozen=True)
class KioskPaymentSettings:
    poll_seconds: float = 2.0
    request_timeout: float = 5.0
    terminal: TerminalSettings = field(default_factory=TerminalSettings)


@dataclass(frozen=True)
class BackofficePaymentSettings:
    provider: str = "http"
    provider_url: str = "http://127.0.0.1:8700"
    api_key_env: str = "PAYMENT_PROVIDER_API_KEY"
    webhook_secret_env: str = "PAYMENT_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
    webhook_url: str = ""
    webhook_tolerance: int = 300
    code_expiry: int = 180
    poll_after: float = 3.0
    merchant_name: str = "WARD OFFICE"
    merchant_name_ja: str = ""
    merchant_city: str = "SAKAI"

    def api_key(self) -> str:
        return os.environ.get(self.api_key_env, "")

    def webhook_secret(self) -> bytes:
        return os.environ.get(self.webhook_secret_env, "").encode()


@dataclass(frozen=True)
class PaymentConfig:
    methods: tuple[PaymentMethod, ...] = (PaymentMethod.CODE, PaymentMethod.TERMINAL,
                                          PaymentMethod.COUNTER)
    kiosk: KioskPaymentSettings = field(default_factory=KioskPaymentSettings)
    backoffice: BackofficePaymentSettings = field(default_factory=BackofficePaymentSettings)
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str = "payment.toml") -> PaymentConfig:
        root = Section(data, file)
        root.unknown_keys(("payment", "kiosk", "backoffice"))
        p = root.section("payment", {})
        p.unknown_keys(("methods",))
        names = p.texts("methods", [m.value for m in PaymentMethod])
        for name in names:
            if name not in {m.value for m in PaymentMethod}:
                raise p.error("methods", f"unknown method {name!r} (code, terminal, counter)")
        k = root.section("kiosk", {})
        k.unknown_keys(("poll_seconds", "request_timeout", "terminal"))
        t = k.section("terminal", {})
        t.unknown_keys(("kind", "host", "port", "sale_id", "timeout", "recover"))
        terminal = TerminalSettings(
            kind=t.text("kind", "nexo", choices=("nexo", "none")), host=t.text("host", "127.0.0.1"),
            port=t.integer("port", 4100, min=1, max=65535), sale_id=t.text("sale_id", "kiosk"),
            timeout=t.number("timeout", 90.0, min=5), recover=t.number("recover", 10.0, min=0))
        kiosk = KioskPaymentSettings(poll_seconds=k.number("poll_seconds", 2.0, min=0.1),
                                     request_timeout=k.number("request_timeout", 5.0, min=0.5),
                                     terminal=terminal)
        b = root.section("backoffice", {})
        b.unknown_keys(tuple(BackofficePaymentSettings.__dataclass_fields__))
        url = b.text("provider_url", "http://127.0.0.1:8700")
        if not url.startswith(("http://", "https://")):
            raise b.error("provider_url", f"must start with http:// or https://, got {url!r}")
        hook = b.text("webhook_url", "")
        if hook and not hook.startswith(("http://", "https://")):
            raise b.error("webhook_url", f"must start with http:// or https://, got {hook!r}")
        name = b.text("merchant_name", "WARD OFFICE")
        if len(name) > 25 or not name.isascii():
            raise b.error("merchant_name", "must be Latin letters, at most 25 (JPQR tag 59)")
        city = b.text("merchant_city", "SAKAI")
        if len(city) > 15 or not city.isascii():
            raise b.error("merchant_city", "must be Latin letters, at most 15 (JPQR tag 60)")
        backoffice = BackofficePaymentSettings(
            provider=b.text("provider", "http", choices=("http",)), provider_url=url,
            api_key_env=b.text("api_key_env", "PAYMENT_PROVIDER_API_KEY"),
            webhook_secret_env=b.text("webhook_secret_env", "PAYMENT_WEBHOOK_SECRET"),
            webhook_url=hook, webhook_tolerance=b.integer("webhook_tolerance", 300, min=5),
            code_expiry=b.integer("code_expiry", 180, min=10, max=3600),
            poll_after=b.number("poll_after", 3.0, min=0), merchant_name=name,
            merchant_name_ja=b.text("merchant_name_ja", ""), merchant_city=city)
        return cls(methods=tuple(PaymentMethod(n) for n in names), kiosk=kiosk,
                   backoffice=backoffice, source=file)


def load_payment_config(path: str | os.PathLike[str] | None = None) -> PaymentConfig:
    p = Path(path) if path is not None else Path(
        os.environ.get("PAYMENT_CONFIG", CONFIG_DIR / "payment.toml"))
    return PaymentConfig.from_mapping(read_toml(p), file=str(p))
