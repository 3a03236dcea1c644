"""Chimes: `assets/sounds/chime/*.wav` (sox, scripts/make_kiosk_assets.py), played
offline. Voice guidance is spoken live (kiosk/speech, kiosk/ui/guidance.py). A kiosk
without a sound device still works: playing is best effort and every request is recorded
in `played` (for tests).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kiosk.configfile import ASSETS_DIR

log = logging.getLogger(__name__)
SOUNDS = ASSETS_DIR / "sounds"


class Player:
    def __init__(self, root: Path = SOUNDS, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self.played: list[str] = []
        self._cache: dict[Path, Any] = {}

    def chime(self, kind: str) -> None:
        self._play(self.root / "chime" / f"{kind}.wav")

    def _play(self, path: Path) -> None:
        self.played.append(path.stem)
        if not self.enabled or not path.exists():
            return
        try:
            from kivy.core.audio import SoundLoader
            snd = self._cache.get(path)
            if snd is None:
                snd = SoundLoader.load(str(path))
                self._cache[path] = snd
            if snd is not None:
                snd.stop()
                snd.play()
        except Exception:  # no audio device: guidance is a help, never a blocker
            log.debug("cannot play %s", path.name, exc_info=True)
