"""The offline synthesizer with the real programs (Open JTalk, espeak-ng): every line of
a screen is spoken, in each language, and a failure is a SpeechError that names the
program, never the text."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain.errors import ConfigError
from kiosk.speech import OfflineVoice, SpeechConfig, SpeechError, Synthesizer
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


class Recorder:
    """Stands in for the speakers only: when each file would start playing."""

    def __init__(self) -> None:
        self.started: list[tuple[float, Path]] = []

    def __call__(self, path: Path) -> Any:
        self.started.append((time.monotonic(), path))
        return lambda: None


def wait_for(recorder: Recorder, n: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while len(recorder.started) < n and time.monotonic() < end:
        time.sleep(0.02)
    assert len(recorder.started) >= n, recorder.started


@pytest.fixture
def voice() -> Iterator[tuple[OfflineVoice, Recorder]]:
    played = Recorder()
    v = OfflineVoice(play=played)
    yield v, played
    v.close()


def test_the_title_is_said_first_and_the_rest_after_it(voice: Any) -> None:
    from kiosk.speech.voice import wav_seconds
    v, played = voice
    v.speak("番号札\nA-012\n前に3人", "ja")
    wait_for(played, 2)
    (t1, first), (t2, rest) = played.started
    assert seconds(first) < seconds(rest) and t2 - t1 >= wav_seconds(first) - 0.05
    assert first.parent == rest.parent == v.session_dir


def test_a_new_screen_cuts_the_old_one_short(voice: Any) -> None:
    v, played = voice
    v.speak("番号札\n" + "とても長い案内です。" * 10, "ja")
    wait_for(played, 1)
    v.speak("Thank you", "en")
    wait_for(played, 2)
    time.sleep(0.5)
    assert len(played.started) == 2          # the long rest was never played


def test_the_visits_end_never_waits_and_leaves_no_audio_behind(voice: Any) -> None:
    v, played = voice
    v.speak("氏名\n" + "堺　花子様の住所は大阪府堺市北区新金岡町です。" * 8, "ja")
    wait_for(played, 1)                      # the rest is being made now
    folder = v.session_dir
    assert folder is not None
    t = time.monotonic()
    v.end_session()
    assert time.monotonic() - t < 0.5
    time.sleep(4)                            # the synthesis in flight finishes, is dropped
    assert not folder.exists() and len(played.started) == 1


def test_close_stops_the_worker_even_in_the_middle_of_a_screen(voice: Any) -> None:
    v, played = voice
    v.speak("番号札\n前に3人　待ち時間の目安 約12分", "ja")
    wait_for(played, 1)
    v.close()
    v._worker.join(30)
    assert not v._worker.is_alive()


def test_the_speech_bench_runs() -> None:
    import json
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "tests/bench/bench_speech.py", "--quick"],
                          cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "speech" and result["ja_ticket"]["audio_s"] > 5
