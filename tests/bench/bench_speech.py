"""Benchmark: synthesis latency per utterance, offline — what the resident waits between a
screen appearing and the voice starting, and what a lobby call costs the back-office.

    .venv/bin/python tests/bench/bench_speech.py [--quick]

Cases (median / p95 / max over the runs):
  ja_ticket      Open JTalk, the whole ticket screen's words (number, wait, printed), one file
  ja_form        Open JTalk, a confirm screen read aloud (~115 characters), one file
  en_ticket      espeak-ng, the same ticket screen in English, one file
  ja_ticket_starts / en_ticket_starts / ja_form_starts
                 what the resident waits: the kiosk's OfflineVoice from speak() to the
                 first sound (it makes the first line alone, the rest while that plays)
  lobby_call     the back-office's Ogg of a call in ja + en (2 voices + sox), not cached
  lobby_cached   the same call again, from the cache
Target: a screen's voice starts within 1 s (*_starts p95 ≤ 1000 ms). Prints one line per
case, then one JSON object with all figures (last line).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk.backoffice.announcements import AnnouncementSettings, Announcer
from kiosk.speech import OfflineVoice, Synthesizer

TARGETS_MS = {"ja_ticket_starts": 1000.0, "en_ticket_starts": 1000.0,
              "ja_form_starts": 1000.0}
JA_TICKET = "番号札\nA-012\n前に3人　待ち時間の目安 約12分\n番号札を印刷しました。お取りください。"
JA_FORM = ("内容の確認\n住民票の写し\n氏名\n堺　花子\n住所\n大阪府堺市北区新金岡町５丁１－１\n"
           "生年月日\n昭和60年3月7日\n通数\n1通\n使いみち\n役所の手続き\n手数料 300円\n"
           "この内容で窓口に届きます。カードから読んだ内容は変えられません。")
EN_TICKET = ("Your ticket\nA-012\n3 people ahead, about 12 minutes\n"
             "Your ticket has been printed. Please take it.")


def measure(work: Callable[[int], object], runs: int) -> dict[str, float]:
    """Wall time of `work`, or the seconds it returns itself (a float)."""
    wall: list[float] = []
    for i in range(runs):
        t = time.perf_counter()
        took = work(i)
        wall.append((took if isinstance(took, float) else time.perf_counter() - t) * 1000)
    wall.sort()
    return {"runs": runs, "median_ms": round(statistics.median(wall), 1),
            "p95_ms": round(wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))], 1),
            "max_ms": round(wall[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 runs per case (tests)")
    args = parser.parse_args()
    runs = 3 if args.quick else 20
    synth = Synthesizer()
    synth.check()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp:
        folder = Path(tmp)
        audio_s: dict[str, float] = {}
        for name, text, lang in (("ja_ticket", JA_TICKET, "ja"), ("ja_form", JA_FORM, "ja"),
                                 ("en_ticket", EN_TICKET, "en")):
            out = folder / f"{name}.wav"
            results[name] = measure(lambda i, t=text, la=lang, o=out: synth.wav(t, la, o), runs)
            audio_s[name] = round((out.stat().st_size - 44) / _bytes_per_second(out), 2)
            results[name]["audio_s"] = audio_s[name]
            results[name]["characters"] = len(text)
        for name, text, lang in (("ja_ticket_starts", JA_TICKET, "ja"),
                                 ("en_ticket_starts", EN_TICKET, "en"),
                                 ("ja_form_starts", JA_FORM, "ja")):
            results[name] = measure(lambda i, t=text, la=lang: first_sound(t, la), runs)
        announcer = Announcer(AnnouncementSettings(cache_entries=1000))
        results["lobby_call"] = measure(
            lambda i: announcer.audio("A", 100 + i, 3, ("ja", "en")), runs)
        results["lobby_cached"] = measure(lambda i: announcer.audio("A", 100, 3, ("ja", "en")),
                                          runs)
    for name, r in results.items():
        target = TARGETS_MS.get(name)
        verdict = "" if target is None else (
            f"  target p95 ≤ {target:.0f} ms: {'ok' if r['p95_ms'] <= target else 'MISSED'}")
        extra = f"  ({r['audio_s']} s of speech)" if "audio_s" in r else ""
        print(f"{name:14s} median {r['median_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  "
              f"max {r['max_ms']:8.1f} ms{extra}{verdict}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(json.dumps({"bench": "speech", "quick": args.quick, "machine": platform.machine(),
                      "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
                      "targets_ms": TARGETS_MS, **results}))


def first_sound(text: str, language: str) -> float:
    """Seconds from speak() on a fresh visit's voice to its first file starting to play.
    The rest is then made and said to the end (untimed), so runs do not overlap."""
    started = threading.Event()
    voice = OfflineVoice(play=lambda path: (started.set(), lambda: None)[1])
    try:
        t = time.perf_counter()
        voice.speak(text, language)
        if not started.wait(30):
            raise RuntimeError("no sound within 30 s")
        took = time.perf_counter() - t
    finally:
        voice._queue.put(None)       # let the worker finish what it is making, then stop
        voice._worker.join(60)
        voice.close()
    return took


def _bytes_per_second(wav: Path) -> float:
    import wave
    with wave.open(str(wav)) as w:
        return float(w.getframerate() * w.getsampwidth() * w.getnchannels())


if __name__ == "__main__":
    main()
