"""Text to a WAV file, offline: Japanese through Open JTalk, the other languages through
espeak-ng. Both are Debian programs run as subprocesses (no network, no model download):

    open-jtalk + open-jtalk-mecab-naist-jdic   (main)
    hts-voice-nitech-jp-atr503-m001            (contrib, CC-BY 3.0; scripts/bootstrap)
    espeak-ng                                  (main)

The text goes to the program on stdin, never on its command line (where `ps` would show a
resident's name), and never into a log record.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Section

log = logging.getLogger(__name__)

# The kiosk's languages → espeak-ng voices. Brazilian Portuguese: most Portuguese-speaking
# residents in Japan come from Brazil. "ja" and "ja-easy" go to Open JTalk.
ESPEAK_VOICES = {"en": "en-us", "zh-Hans": "cmn", "ko": "ko", "vi": "vi", "pt": "pt-br"}
JAPANESE = ("ja", "ja-easy")
KEYS = ("device", "dictionary", "htsvoice", "speed", "timeout_s")


class SpeechError(RuntimeError):
    """Synthesis failed (program missing, voice file missing, time-out)."""

    log_safe = True  # says which program failed, never the text


@dataclass(frozen=True)
class SpeechConfig:
    """The [voice] section (kiosk.toml) or [announcements] (backoffice.toml) voice keys."""

    device: str = "offline"
    dictionary: Path = Path("/var/lib/mecab/dic/open-jtalk/naist-jdic")
    htsvoice: Path = Path(
        "/usr/share/hts-voice/nitech-jp-atr503-m001/nitech_jp_atr503_m001.htsvoice")
    speed: float = 1.0          # 1.0 = the voices' own pace; 0.8 slower for the elderly
    timeout_s: float = 10.0

    @classmethod
    def from_section(cls, s: Section) -> SpeechConfig:
        s.unknown_keys(KEYS)
        d = cls()
        speed = s.number("speed", d.speed, min=0.5)
        if speed > 2.0:
            raise s.error("speed", f"must be between 0.5 and 2.0, got {speed}")
        return cls(device=s.text("device", d.device),
                   dictionary=Path(s.text("dictionary", str(d.dictionary))),
                   htsvoice=Path(s.text("htsvoice", str(d.htsvoice))),
                   speed=speed, timeout_s=s.number("timeout_s", d.timeout_s, min=1))


def program(name: str) -> str:
    """The program's full path (PATH is the service's own), or a SpeechError."""
    path = shutil.which(name)
    if path is None:
        raise SpeechError(f"{name} is not installed")
    return path


def one_line(text: str) -> str:
    """The lines of a screen as one Japanese sentence sequence: each line ends in 。"""
    lines = (line.strip() for line in text.splitlines())
    return "".join(line if line[-1] in "。、！？!?." else line + "。" for line in lines if line)


class Synthesizer:
    """Speaks one utterance into a WAV file."""

    def __init__(self, config: SpeechConfig | None = None) -> None:
        self.config = config or SpeechConfig()

    def check(self, file: str = "kiosk.toml", key: str = "voice") -> None:
        """A ConfigError at start-up when a program or voice file is missing."""
        c = self.config
        for program in ("open_jtalk", "espeak-ng"):
            if shutil.which(program) is None:
                raise ConfigError(file, key, f"{program} is not installed (scripts/bootstrap)")
        for name, path in (("dictionary", c.dictionary), ("htsvoice", c.htsvoice)):
            if not path.exists():
                raise ConfigError(file, f"{key}.{name}", f"{path} does not exist")

    def wav(self, text: str, language: str, out: Path) -> Path:
        """`text` spoken in `language` into `out` (a .wav path); returns `out`."""
        c = self.config
        if language in JAPANESE:
            text = one_line(text)   # open_jtalk speaks only the first line of its input
            cmd = ["open_jtalk", "-x", str(c.dictionary), "-m", str(c.htsvoice),
                   "-r", f"{c.speed:.2f}", "-ow", str(out)]
        else:
            voice = ESPEAK_VOICES.get(language, "en-us")
            cmd = ["espeak-ng", "-v", voice, "-s", str(round(160 * c.speed)),
                   "-w", str(out), "--stdin"]
        try:
            # Our own fixed argument list (no shell); the resident's words go on stdin.
            done = subprocess.run([program(cmd[0]), *cmd[1:]],  # noqa: S603
                                  input=text.encode("utf-8"), capture_output=True,
                                  timeout=c.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpeechError(f"{cmd[0]} failed: {type(exc).__name__}") from None
        if done.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
            raise SpeechError(f"{cmd[0]} exited {done.returncode} without audio")
        return out
