"""The kiosk's `[payment]` section of config/kiosk.toml, validated with `Section` (errors
name file + key).

The kiosk takes it from the one reading of kiosk.toml (`kiosk.configfile.read_kiosk_config`);
the back-office's side — the code-payment provider, its key and webhook secret — is in
config/backoffice.toml (`kiosk.backoffice.config.BackofficePaymentSettings`) and never on a
kiosk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kiosk.configfile import read_kiosk_config
from kiosk.domain.payment import PaymentMethod
from kiosk.domain.section import Section

KEYS = ("methods", "poll_seconds", "request_timeout", "terminal")
TERMINAL_KEYS = ("kind", "host", "port", "sale_id", "timeout", "recover")


@dataclass(frozen=True)
class TerminalSettings:
    kind: str = "nexo"
    host: str = "127.0.0.1"
    port: int = 4100
    sale_id: str = "kiosk"
    timeout: float = 90.0
    recover: float = 10.0

    @classmethod
    def from_section(cls, t: Section) -> TerminalSettings:
        t.unknown_keys(TERMINAL_KEYS)
        d = cls()
        return cls(kind=t.text("kind", d.kind, choices=("nexo", "none")),
                   host=t.text("host", d.host),
                   port=t.integer("port", d.port, min=1, max=65535),
                   sale_id=t.text("sale_id", d.sale_id),
                   timeout=t.number("timeout", d.timeout, min=5),
                   recover=t.number("recover", d.recover, min=0))


@dataclass(frozen=True)
class KioskPaymentSettings:
    """How this kiosk takes payment: the methods it offers, in order, and its terminal."""
    methods: tuple[PaymentMethod, ...] = (PaymentMethod.CODE, PaymentMethod.TERMINAL,
                                          PaymentMethod.COUNTER)
    poll_seconds: float = 2.0
    request_timeout: float = 5.0
    terminal: TerminalSettings = field(default_factory=TerminalSettings)

    @classmethod
    def from_section(cls, p: Section) -> KioskPaymentSettings:
        p.unknown_keys(KEYS)
        d = cls()
        names = p.texts("methods", [m.value for m in d.methods])
        for name in names:
            if name not in {m.value for m in PaymentMethod}:
                raise p.error("methods", f"unknown method {name!r} (code, terminal, counter)")
        return cls(methods=tuple(PaymentMethod(n) for n in names),
                   poll_seconds=p.number("poll_seconds", d.poll_seconds, min=0.1),
                   request_timeout=p.number("request_timeout", d.request_timeout, min=0.5),
                   terminal=TerminalSettings.from_section(p.section("terminal", {})))


def load_payment_settings(path: str | os.PathLike[str] | None = None) -> KioskPaymentSettings:
    """`[payment]` of kiosk.toml, for the tools that need nothing else of it (dayend)."""
    return KioskPaymentSettings.from_section(read_kiosk_config(path).section("payment", {}))
