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
import time
import wave
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


def chunks(text: str) -> list[str]:
    """The first line alone (the screen's title: said at once), then the rest."""
    lines = [line for line in (raw.strip() for raw in text.splitlines()) if line]
    return [lines[0], "\n".join(lines[1:])] if len(lines) > 1 else lines


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / float(w.getframerate())


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
            path = self._next_file()
        return self.synth.wav(text, language, path)

    def _next_file(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="kiosk-voice-"))
        self._count += 1
        return self._dir / f"utterance-{self._count:04d}.wav"

    def _run(self) -> None:
        item = self._queue.get()
        while True:
            while item is not None and not self._queue.empty():
                item = self._queue.get()   # only the newest screen is worth saying
            if item is None:
                return
            item = self._say(*item)        # a newer request that cut this one short, or None
            if item is None:
                item = self._queue.get()

    def _say(self, text: str, language: str, generation: int) -> tuple[str, str, int] | None:
        """Say `text` in chunks — the first line, then the rest — so the voice starts as
        soon as the first line is made while the rest is made during it. Returns a newer
        request that arrived meanwhile (it stops this one), else None."""
        ends = time.monotonic()
        for chunk in chunks(text):
            with self._lock:
                if generation != self._generation:
                    return None
                path = self._next_file()
            try:   # not under the lock: the visit's end must never wait for a synthesis
                self.synth.wav(chunk, language, path)
            except SpeechError as exc:
                if not self._forget_if_ended(generation, path):
                    log.warning("voice guidance: %s", exc)
                return None
            if self._forget_if_ended(generation, path):
                return None
            try:   # until the previous chunk has been said, or something newer comes
                newer = self._queue.get(timeout=max(0.0, ends - time.monotonic()))
            except queue.Empty:
                pass
            else:
                if newer is None:          # close(): hand it back to _run, which stops
                    self._queue.put(None)
                return newer
            with self._lock:
                if generation != self._generation:
                    return None
                self._stop()
                self._stop = self.play(path)
                ends = time.monotonic() + wav_seconds(path)
            log.debug("voice guidance: %d characters in %s", len(chunk), language)
        return None

    def _forget_if_ended(self, generation: int, path: Path) -> bool:
        """True when the visit ended during the synthesis: then the file (and its folder,
        which end_session may have removed before the file was written) go now."""
        with self._lock:
            if generation == self._generation:
                return False
        shutil.rmtree(path.parent, ignore_errors=True)
        return True

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
