"""The [ui] section of config/kiosk.toml: screen, lockdown, timeouts, languages, desk.

`UiConfig.load` reads the file once (`kiosk.configfile.read_kiosk_config`, the one reader
of kiosk.toml); the device sections ([card], [printer], [backoffice], [store], [payment])
are parsed from the same reading (`UiConfig.data`) when the kiosk is assembled
(kiosk.ui.adapters.make_devices). The dataclass's defaults are the only ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.configfile import read_kiosk_config
from kiosk.domain.card_check import UnverifiablePolicy
from kiosk.domain.section import Section
from kiosk.domain.session import SessionSettings
from kiosk.i18n import LANGUAGE_CODES

KEYS = ("ward", "width", "height", "dpi", "touch_target_mm", "fullscreen", "show_cursor",
        "multisamples", "rotation", "calibration", "maintainer_pin_hash", "maintainer_lock_file",
        "idle_timeout_s",
        "countdown_s", "ticket_s", "thanks_s", "language", "languages", "voice", "cashless", "desk",
        "place")
DESKS = ("sync", "standin")   # the sync package's KioskLink, or local numbers (dev tools)


def _optional_text(s: Section, name: str) -> str:
    """A string key whose "" means "none" (Section.text refuses an empty string)."""
    return "" if s.data.get(name, "") == "" else s.text(name)


def _lock_file(s: Section, base: Path) -> Path | None:
    raw = _optional_text(s, "maintainer_lock_file")
    if not raw:
        return None
    path = Path(os.path.expanduser(raw))
    return path if path.is_absolute() else base / path


@dataclass(frozen=True)
class UiConfig:
    ward: str = "kita"
    width: int = 1920
    height: int = 1080
    dpi: float = 102.0
    touch_target_mm: float = 15.0
    fullscreen: bool = True
    show_cursor: bool = False
    multisamples: int = 0
    rotation: int = 0
    calibration: dict[str, str] = field(default_factory=dict)
    maintainer_pin_hash: str = ""              # this kiosk's own; "" = no maintainer exit
    maintainer_lock_file: Path | None = None   # wrong tries and lock, kept across restarts
    voice: bool = False
    desk: str = "sync"
    place: str = ""            # where the kiosk stands, for the floor staff ("1階 正面入口")
    session: SessionSettings = field(default_factory=SessionSettings)
    file: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def target_px(self) -> float:
        """The smallest touch target in pixels at this screen's DPI."""
        return self.touch_target_mm / 25.4 * self.dpi

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> UiConfig:
        root = read_kiosk_config(path)
        p, data = Path(root.file), root.data
        s = root.section("ui")
        s.unknown_keys(KEYS)
        d, ds = cls(), SessionSettings()
        languages = s.texts("languages", list(ds.languages))
        for code in languages:
            if code not in LANGUAGE_CODES:
                raise s.error("languages", f"unknown language {code!r} "
                              f"(known: {', '.join(LANGUAGE_CODES)})")
        language = s.text("language", ds.language, choices=languages)
        rotation = s.integer("rotation", d.rotation)
        if rotation not in (0, 90, 180, 270):
            raise s.error("rotation", f"must be 0, 90, 180 or 270, got {rotation}")
        calibration = s.section("calibration", {})
        multisamples = s.integer("multisamples", d.multisamples, min=0)
        if multisamples not in (0, 2, 4, 8):
            raise s.error("multisamples", f"must be 0, 2, 4 or 8, got {multisamples}")
        idle = s.number("idle_timeout_s", ds.idle_timeout_s, min=10)
        from kiosk.configfile import load_streets
        session = SessionSettings(
            streets=load_streets(s.text("ward", d.ward)),
            idle_timeout_s=idle,
            countdown_s=min(s.number("countdown_s", ds.countdown_s, min=1), idle),
            ticket_s=s.number("ticket_s", ds.ticket_s, min=3),
            thanks_s=s.number("thanks_s", ds.thanks_s, min=1),
            language=language, languages=languages, cashless=s.flag("cashless", ds.cashless),
            unverifiable=_unverifiable(root))
        return cls(
            ward=s.text("ward", d.ward), width=s.integer("width", d.width, min=320),
            height=s.integer("height", d.height, min=240), dpi=s.number("dpi", d.dpi, min=50),
            touch_target_mm=s.number("touch_target_mm", d.touch_target_mm, min=5),
            fullscreen=s.flag("fullscreen", d.fullscreen),
            show_cursor=s.flag("show_cursor", d.show_cursor),
            multisamples=multisamples, rotation=rotation,
            calibration={k: calibration.text(k) for k in calibration.data},
            maintainer_pin_hash=_optional_text(s, "maintainer_pin_hash"),
            maintainer_lock_file=_lock_file(s, p.parent),
            voice=s.flag("voice", d.voice),
            desk=s.text("desk", d.desk, choices=DESKS), place=_place(s),
            session=session, file=str(p), data=data)


def _place(s: Section) -> str:
    place = _optional_text(s, "place").strip()
    if len(place) > 40 or any(ch in place for ch in "<>") or not place.isprintable():
        raise s.error("place", "at most 40 printable characters, no < or >")
    return place


def _unverifiable(root: Section) -> UnverifiablePolicy:
    """[card] unverifiable: what a card the kiosk cannot verify may do (kiosk.card.config
    validates the section; the session only needs this one value)."""
    card = root.section("card", {})
    return UnverifiablePolicy(card.text("unverifiable", UnverifiablePolicy.ACCEPT_AND_FLAG,
                                        choices=tuple(UnverifiablePolicy)))
