"""The lobby display's chime: a soft two-note "ding-dong", generated, not downloaded.

The WAV committed in static/ is exactly `chime_wav()`; run `python -m
kiosk.backoffice.web.chime` to rewrite it after changing the notes. Generated so that the
sound's origin and licence are plain, and small (8-bit mono 16 kHz, about 30 KB).
"""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path

RATE = 16_000
NOTES = ((659.25, 0.55), (523.25, 0.9))  # E5 then C5, the usual public-address interval
CHIME_PATH = Path(__file__).resolve().parent / "static" / "chime.wav"


def _samples() -> bytes:
    out = bytearray()
    for freq, seconds in NOTES:
        n = int(RATE * seconds)
        for i in range(n):
            t = i / RATE
            attack = min(1.0, t / 0.01)
            decay = math.exp(-3.2 * t / seconds)
            # a little of the octave makes it bell-like rather than a bare sine
            tone = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)
            value = 0.55 * attack * decay * tone / 1.3
            out.append(max(0, min(255, round(128 + 127 * value))))
    return bytes(out)


def chime_wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(RATE)
        w.writeframes(_samples())
    return buf.getvalue()


def main() -> None:
    CHIME_PATH.write_bytes(chime_wav())
    print(f"wrote {CHIME_PATH} ({CHIME_PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
