"""The `[card]` section of config/kiosk.toml, and the reader it selects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.card.authenticity import TrustedCa
from kiosk.devices import registry
from kiosk.domain.card_check import UnverifiablePolicy
from kiosk.domain.section import Section

if TYPE_CHECKING:
    from kiosk.card.interface import CardReader

KEYS = ("backend", "reader", "trusted_ca", "live_challenge", "wait_timeout",
        "standin_profile", "unverifiable")


@dataclass(frozen=True)
class CardConfig:
    backend: str = "pcsc"
    reader: str = ""
    trusted_ca: tuple[TrustedCa, ...] = ()
    live_challenge: bool = False
    wait_timeout: float = 60.0
    standin_profile: Path | None = None   # backend = standin: whose card (default its own)
    unverifiable: str = "accept_and_flag"   # or "refuse" (kiosk.domain.card_check)

    @classmethod
    def from_section(cls, section: Section, base_dir: str | os.PathLike[str]) -> CardConfig:
        section.unknown_keys(KEYS)
        base = Path(base_dir)
        cas: list[TrustedCa] = []
        raw = section.data.get("trusted_ca", [])
        if not isinstance(raw, list):
            raise section.error("trusted_ca", "must be a list of PEM files or "
                                "{ file = ..., key_id = ... } tables")
        for i, entry in enumerate(raw):
            key = f"trusted_ca[{i}]"
            if isinstance(entry, str):
                file, kid = entry, None
            elif isinstance(entry, dict) and isinstance(entry.get("file"), str):
                file, kid = entry["file"], entry.get("key_id")
                if kid is not None and not isinstance(kid, str):
                    raise section.error(key, "key_id must be 32 hex digits")
            else:
                raise section.error(key, "must be a PEM file name or { file, key_id }")
            try:
                cas.append(TrustedCa.from_file(base / file, kid))
            except (OSError, ValueError) as exc:
                raise section.error(key, f"cannot load {file}: {exc}") from None
        profile = section.optional_text("standin_profile")
        reader = section.data.get("reader", "")
        if not isinstance(reader, str):
            raise section.error("reader", "must be a string (\"\" = the first reader)")
        backend = section.text("backend", cls.backend)
        registry().factory("card", backend, file=section.file, key=section.key("backend"))
        return cls(
            backend=backend,
            reader=reader.strip(),
            trusted_ca=tuple(cas),
            live_challenge=section.flag("live_challenge", cls.live_challenge),
            wait_timeout=section.number("wait_timeout", cls.wait_timeout, min=0.1),
            standin_profile=base / profile if profile else None,
            unverifiable=section.text("unverifiable", cls.unverifiable,
                                      choices=tuple(UnverifiablePolicy)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> CardConfig:
        from kiosk.configfile import read_kiosk_config

        root = read_kiosk_config(path)
        return cls.from_section(root.section("card", {}), Path(root.file).parent)


def open_reader(config: CardConfig | None = None) -> CardReader:
    """The reader `[card] backend` names, from the device registry (kiosk.devices)."""
    config = config or CardConfig.load()
    reader: CardReader = registry().factory("card", config.backend)(config)
    return reader
