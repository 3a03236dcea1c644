"""The kiosk's voice: a device like the printer (interface + real adapter + stand-in).

    [voice] device = "offline"   OfflineVoice: Open JTalk / espeak-ng, played on the kiosk
                     "standin"   hardware.voice: records what would be spoken (tests, demo)
                     "none"      SilentVoice: a kiosk without speakers

Speech is made per visit and never kept: each visit's audio lives in its own temporary
folder (0700), made at the first utterance and deleted with everything in it when the
visit ends (`end_session`), the same moment the session's personal data is wiped. File
names are counters, never the text; the text is never logged.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from kiosk.speech.synth import SpeechConfig, SpeechError, Synthesizer

log = logging.getLogger(__name__)


class Voice(Protocol):
    def speak(self, text: str, language: str) -> None:
        """Say `text` now (what was being said stops). Never blocks the screen."""
        ...

    def end_session(self) -> None:
        """The visit is over: stop talking and forget everything said in it."""
        ...

    def close(self) -> None: ...


class SilentVoice:
    """No speakers: nothing is said, nothing is made."""

    def speak(self, text: str, language: str) -> None:
        return None

    def end_session(self) -> None:
        return None

    def close(self) -> None:
        return None


def kivy_player(path: Path) -> Callable[[], None]:
    """Plays a WAV through Kivy's audio; returns how to stop it. Best effort: a kiosk
    without a sound device works the same."""
    try:
        from kivy.core.audio import SoundLoader
        sound = SoundLoader.load(str(path))
    except Exception:  # no audio provider: guidance is a help, never a blocker
        log.debug("cannot play speech", exc_info=True)
        sound = None
    if sound is None:
        return lambda: None
    sound.play()

    def stop() -> None:
        sound.stop()
        sound.unload()
    return stop


class OfflineVoice:
    """Synthesizes on one worker thread (the newest request wins) and plays the result."""

    def __init__(self, synth: Synthesizer | None = None,
                 play: Callable[[Path], Callable[[], None]] = kivy_player) -> None:
        self.synth = synth or Synthesizer()
        self.play = play
        self._queue: queue.Queue[tuple[str, str, int] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._generation = 0   # bumped by end_session: older requests are dropped
        self._count = 0
        self._stop: Callable[[], None] = lambda: None
        self._worker = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
        self._worker.start()

    @property
    def session_dir(self) -> Path | None:
        """This visit's audio folder (None before the first utterance and after the end)."""
        return self._dir

    def speak(self, text: str, language: str) -> None:
        if text.strip():
            self._queue.put((text, language, self._generation))

    def speak_now(self, text: str, language: str) -> Path:
        """Synthesize in the caller's thread (benchmarks, tests); returns the WAV."""
        with self._lock:
            return self.synth.wav(text, language, self._next_file())

    def _next_file(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="kiosk-voice-"))
        self._count += 1
        return self._dir / f"utterance-{self._count:04d}.wav"

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            while item is not None and not self._queue.empty():
                item = self._queue.get()   # only the newest screen is worth saying
            if item is None:
                return
            text, language, generation = item
            with self._lock:
                if generation != self._generation:
                    continue
                try:
                    path = self.synth.wav(text, language, self._next_file())
                except SpeechError as exc:
                    log.warning("voice guidance: %s", exc)
                    continue
                self._stop()
                self._stop = self.play(path)
                log.debug("voice guidance: %d characters in %s", len(text), language)

    def end_session(self) -> None:
        with self._lock:
            self._generation += 1
            self._stop()
            self._stop = lambda: None
            folder, self._dir, self._count = self._dir, None, 0
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self.end_session()
        self._queue.put(None)


def open_offline_voice(config: SpeechConfig, **_: Any) -> OfflineVoice:
    """The registry's factory for `[voice] device = "offline"`."""
    synth = Synthesizer(config)
    synth.check()
    return OfflineVoice(synth)


def open_silent_voice(config: SpeechConfig, **_: Any) -> SilentVoice:
    return SilentVoice()
