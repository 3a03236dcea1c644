"""The `[card]` section of config/kiosk.toml, and the reader it selects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.card.authenticity import TrustedCa
from kiosk.domain.section import Section

if TYPE_CHECKING:
    from kiosk.card.interface import CardReader

BACKENDS = ("pcsc", "emulator")
KEYS = ("backend", "reader", "trusted_ca", "live_challenge", "wait_timeout",
        "emulator_profile")


@dataclass(frozen=True)
class CardConfig:
    backend: str = "pcsc"
    reader: str = ""
    trusted_ca: tuple[TrustedCa, ...] = ()
    live_challenge: bool = False
    wait_timeout: float = 60.0
    emulator_profile: Path | None = None

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
        profile = section.optional_text("emulator_profile")
        reader = section.data.get("reader", "")
        if not isinstance(reader, str):
            raise section.error("reader", "must be a string (\"\" = the first reader)")
        config = cls(
            backend=section.text("backend", "pcsc", choices=BACKENDS),
            reader=reader.strip(),
            trusted_ca=tuple(cas),
            live_challenge=section.flag("live_challenge", False),
            wait_timeout=section.number("wait_timeout", 60.0, min=0.1),
            emulator_profile=base / profile if profile else None,
        )
        if config.backend == "emulator" and config.emulator_profile is None:
            raise section.error("emulator_profile", "is required for backend = emulator")
        return config

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> CardConfig:
        from kiosk.configfile import CONFIG_DIR, read_toml

        p = Path(path) if path is not None else CONFIG_DIR / "kiosk.toml"
        data = read_toml(p)
        return cls.from_section(Section(data, str(p)).section("card", {}), p.parent)


def open_reader(config: CardConfig | None = None) -> CardReader:
    """The reader `[card] backend` selects."""
    config = config or CardConfig.load()
    if config.backend == "emulator":
        from hardware.card.local import LocalCardReader  # the stand-in, in-process

        assert config.emulator_profile is not None
        return LocalCardReader(config.emulator_profile, config.trusted_ca,
                               live_challenge=config.live_challenge)
    from kiosk.card.pcsc import PcscCardReader

    return PcscCardReader(config.reader, config.trusted_ca, live_challenge=config.live_challenge)
