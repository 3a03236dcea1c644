"""Lobby announcements as audio: "受付番号 A の 12 番の方、3 番窓口へお越しください" and the
same in the ward's other languages, made offline with the kiosk's voices (kiosk.speech:
Open JTalk, espeak-ng) and joined into one Ogg Vorbis file by sox.

A call says only a ticket number and a counter — no personal data — so the audio is kept
in memory, keyed by (number, counter, languages), and the few numbers of a busy morning
are made once whatever the number of displays. Synthesis runs one at a time per process
(it is CPU-bound on a small server).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.domain.section import Section
from kiosk.i18n import LANGUAGE_CODES, translator
from kiosk.speech import SpeechConfig, SpeechError, Synthesizer
from kiosk.speech.synth import program

CALL = "受付番号 {prefix} の {number} 番の方、{counter} 番窓口へお越しください"
NUMBER = re.compile(r"^([A-Z]{1,3})-?0*(\d{1,4})$")
RATE = 22050          # every voice is resampled to this before joining
PAUSE_S = 0.6         # between two languages
KEYS = ("device", "languages", "wards", "speed", "cache_entries")


@dataclass(frozen=True)
class AnnouncementSettings:
    """[announcements] of backoffice.toml."""

    device: str = "offline"                       # offline | none (the displays chime only)
    languages: tuple[str, ...] = ("ja", "en")     # every ward's calls, in this order
    wards: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per-ward languages
    speed: float = 1.0
    cache_entries: int = 256

    def for_ward(self, ward: str) -> tuple[str, ...]:
        return self.wards.get(ward, self.languages)

    @classmethod
    def from_section(cls, s: Section) -> AnnouncementSettings:
        s.unknown_keys(KEYS)
        d = cls()

        def languages(section: Section, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            codes = section.texts(key, list(default))
            unknown = [c for c in codes if c not in LANGUAGE_CODES]
            if unknown or not codes or codes[0] != "ja" or len(set(codes)) != len(codes):
                raise section.error(key, "Japanese first, then other languages once each, "
                                    f"from {', '.join(LANGUAGE_CODES)}; got {list(codes)}")
            return codes

        wards = s.section("wards", {})
        speed = s.number("speed", d.speed, min=0.5)
        if speed > 2.0:
            raise s.error("speed", f"must be between 0.5 and 2.0, got {speed}")
        return cls(device=s.text("device", d.device, choices=("offline", "none")),
                   languages=languages(s, "languages", d.languages),
                   wards={code: languages(wards, code, d.languages) for code in wards.data},
                   speed=speed,
                   cache_entries=s.integer("cache_entries", d.cache_entries, min=1, max=10_000))


def call_texts(prefix: str, number: int, counter: int,
               languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """(language, words) of one call, in the display's web catalog."""
    return [(code, translator(code, "web")(CALL, prefix=prefix, number=number, counter=counter))
            for code in languages]


def parse_number(label: str) -> tuple[str, int] | None:
    """"A-012" → ("A", 12); None for anything else."""
    m = NUMBER.fullmatch(label)
    return (m.group(1), int(m.group(2))) if m else None


class Announcer:
    """Makes and keeps the audio of calls."""

    def __init__(self, settings: AnnouncementSettings,
                 synth: Synthesizer | None = None) -> None:
        self.settings = settings
        self.synth = synth or Synthesizer(SpeechConfig(speed=settings.speed))
        self._cache: OrderedDict[tuple[str, int, int, tuple[str, ...]], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.made = 0   # how many were synthesized (the rest came from the cache)

    def audio(self, prefix: str, number: int, counter: int,
              languages: tuple[str, ...]) -> bytes:
        key = (prefix, number, counter, languages)
        with self._lock:   # one synthesis at a time; a second display waits, then hits
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            data = self._make(call_texts(prefix, number, counter, languages))
            self.made += 1
            self._cache[key] = data
            while len(self._cache) > self.settings.cache_entries:
                self._cache.popitem(last=False)
            return data

    def _make(self, texts: list[tuple[str, str]]) -> bytes:
        with tempfile.TemporaryDirectory(prefix="announce-") as tmp:
            folder = Path(tmp)
            parts: list[str] = []
            pause = folder / "pause.wav"
            _sox(["-n", "-r", str(RATE), "-c", "1", "-b", "16", str(pause),
                  "trim", "0", str(PAUSE_S)])
            for i, (lang, text) in enumerate(texts):
                raw = self.synth.wav(text, lang, folder / f"{i}-raw.wav")
                even = folder / f"{i}.wav"
                # One rate and level for both engines (Open JTalk 48 kHz, espeak-ng 22 kHz).
                _sox([str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(even),
                      "gain", "-n", "-2"])
                parts += [str(pause), str(even)] if parts else [str(even)]
            out = folder / "call.ogg"
            _sox([*parts, "-C", "3", str(out)])
            return out.read_bytes()


def _sox(args: list[str]) -> None:
    try:
        # A fixed argument list (no shell) of our own temporary files: nothing from a caller.
        done = subprocess.run([program("sox"), *args],  # noqa: S603
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechError(f"sox failed: {type(exc).__name__}") from None
    if done.returncode != 0:
        raise SpeechError(f"sox exited {done.returncode}: "
                          f"{done.stderr.decode('utf-8', 'replace')[-200:]}")
