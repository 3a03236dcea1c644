"""The offline synthesizer with the real programs (Open JTalk, espeak-ng): every line of
a screen is spoken, in each language, and a failure is a SpeechError that names the
program, never the text."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from kiosk.domain.errors import ConfigError
from kiosk.speech import SpeechConfig, SpeechError, Synthesizer
from kiosk.speech.synth import one_line


def seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_japanese_says_every_line_not_only_the_first(tmp_path: Path) -> None:
    s = Synthesizer()
    first = seconds(s.wav("番号札", "ja", tmp_path / "1.wav"))
    lines = "番号札\nA-012\n前に3人　待ち時間の目安 約12分"
    whole = seconds(s.wav(lines, "ja", tmp_path / "3.wav"))
    assert whole > first + 2
    assert one_line("番号札\n\n前に3人。\nお取りください") == "番号札。前に3人。お取りください。"


@pytest.mark.parametrize("lang", ["ja-easy", "en", "zh-Hans", "ko", "vi", "pt"])
def test_each_language_has_a_voice(lang: str, tmp_path: Path) -> None:
    text = {"ja-easy": "ばんごうふだ", "en": "Ticket number", "zh-Hans": "受理号码",
            "ko": "접수 번호", "vi": "Số tiếp nhận", "pt": "Número da senha"}[lang]
    assert seconds(Synthesizer().wav(text, lang, tmp_path / "x.wav")) > 0.5


def test_failures_name_the_program_not_the_text(tmp_path: Path) -> None:
    broken = Synthesizer(SpeechConfig(htsvoice=tmp_path / "missing.htsvoice"))
    with pytest.raises(SpeechError) as caught:
        broken.wav("山田 太郎", "ja", tmp_path / "x.wav")
    assert "open_jtalk" in str(caught.value) and "山田" not in str(caught.value)
    with pytest.raises(ConfigError, match="htsvoice"):
        broken.check()
    Synthesizer().check()
