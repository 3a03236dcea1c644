#!/usr/bin/env python3
"""Regenerate the kiosk's own assets, offline: pictograms (Pillow), chimes (sox) and the
Japanese voice guidance (espeak-ng), into assets/images and assets/sounds.

    .venv/bin/python scripts/make_kiosk_assets.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "assets" / "images"
SOUNDS = ROOT / "assets" / "sounds"
S = 256
INK = (10, 78, 166, 255)
WHITE = (255, 255, 255, 255)

# espeak-ng reads kana, not kanji (it spells kanji out as "Chinese letter"): kana only.
VOICE = {
    "welcome": "いらっしゃいませ。はじめる、を おしてください。",
    "procedure": "ごようけんを おえらびください。",
    "identity": "ほんにんかくにんの ほうほうを おえらびください。",
    "card": "マイナンバーカードを、よみとりきに おいてください。",
    "pin": "あんしょうばんごう、すうじ よんけたを おしてください。",
    "reading": "カードを よみとっています。",
    "entry": "がめんの キーで にゅうりょくしてください。",
    "confirm": "ないようを ごかくにんください。",
    "payment": "おしはらいほうほうを おえらびください。",
    "cashless": "がめんの あんないに したがって おしはらいください。",
    "issuing": "ばんごうふだを はっこうしています。",
    "ticket": "ばんごうふだを おとりください。ばんごうを およびするまで おまちください。",
    "thanks": "ありがとうございました。",
    # life events (issue #17)
    "event": "どのような ごようけんですか。あてはまるものを おえらびください。",
    "question": "しつもんに おこたえください。がめんの ボタンを おしてください。",
    "plan": "ひつような てつづきの いちらんです。ないようを ごかくにんください。",
}


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8, 8, S - 8, S - 8), 36, fill=INK)
    return img, d


def document(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(72, 40), (160, 40), (192, 72), (192, 216), (72, 216)], fill=WHITE)
    for y in (96, 128, 160):
        d.rectangle((92, y, 172, y + 10), fill=INK)


def house(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(40, 128), (112, 60), (184, 128)], fill=WHITE)
    d.rectangle((60, 128, 164, 200), fill=WHITE)
    d.rectangle((98, 152, 126, 200), fill=INK)
    d.polygon([(176, 150), (224, 150), (224, 132), (248, 168), (224, 204), (224, 186),
               (176, 186)], fill=WHITE)


def family(d: ImageDraw.ImageDraw) -> None:
    for cx, r, top in ((90, 26, 60), (166, 26, 60), (128, 18, 120)):
        d.ellipse((cx - r, top, cx + r, top + 2 * r), fill=WHITE)
        d.rounded_rectangle((cx - r - 8, top + 2 * r + 6, cx + r + 8, 216), 14, fill=WHITE)


def shield(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(128, 36), (208, 68), (196, 168), (128, 220), (60, 168), (48, 68)], fill=WHITE)
    d.rectangle((116, 80, 140, 176), fill=INK)
    d.rectangle((80, 116, 176, 140), fill=INK)


def coin(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((48, 48, 208, 208), fill=WHITE)
    d.line((96, 84, 128, 128, 160, 84), fill=INK, width=14)
    d.line((128, 128, 128, 180), fill=INK, width=14)
    d.line((100, 138, 156, 138), fill=INK, width=10)
    d.line((100, 160, 156, 160), fill=INK, width=10)


def question(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((48, 48, 208, 208), fill=WHITE)
    d.arc((92, 76, 164, 148), 180, 90, fill=INK, width=16)
    d.rectangle((120, 140, 136, 160), fill=INK)
    d.ellipse((118, 172, 138, 192), fill=INK)


def card(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((32, 68, 224, 188), 14, fill=WHITE)
    d.ellipse((52, 92, 100, 140), fill=INK)
    for y in (96, 120, 144):
        d.rectangle((116, y, 204, y + 10), fill=INK)


def keyboard(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((28, 72, 228, 184), 12, fill=WHITE)
    for row, y in enumerate((88, 118, 148)):
        for x in range(44 + row * 8, 200, 32):
            d.rectangle((x, y, x + 20, y + 20), fill=INK)


def staff(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((96, 40, 160, 104), fill=WHITE)
    d.rounded_rectangle((64, 112, 192, 216), 24, fill=WHITE)
    d.polygon([(128, 118), (116, 150), (128, 200), (140, 150)], fill=INK)


def counter(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((36, 140, 220, 164), fill=WHITE)
    d.rectangle((52, 164, 76, 216), fill=WHITE)
    d.rectangle((180, 164, 204, 216), fill=WHITE)
    d.ellipse((104, 52, 152, 100), fill=WHITE)
    d.rounded_rectangle((92, 104, 164, 140), 12, fill=WHITE)


def phone(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((80, 32, 176, 224), 16, fill=WHITE)
    for x in (96, 128):
        for y in (64, 96):
            d.rectangle((x, y, x + 24, y + 24), fill=INK)
    d.rectangle((96, 140, 160, 184), fill=INK)


ICONS = {
    "procedures/certificates": document, "procedures/moving": house,
    "procedures/family": family, "procedures/insurance": shield, "procedures/tax": coin,
    "procedures/other": question, "card": card, "keyboard": keyboard, "staff": staff,
    "counter": counter, "cashless": phone,
}


def make_icons() -> None:
    for name, draw in ICONS.items():
        img, d = canvas()
        draw(d)
        path = IMAGES / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.resize((128, 128), Image.Resampling.LANCZOS).save(path, optimize=True)


def run(*args: str) -> None:
    """Run a local tool found on PATH (sox, espeak-ng) with fixed arguments."""
    tool = shutil.which(args[0])
    if tool is None:
        raise FileNotFoundError(args[0])
    subprocess.run([tool, *args[1:]], check=True)  # noqa: S603 - fixed arguments


def make_sounds() -> None:
    chime = SOUNDS / "chime"
    voice = SOUNDS / "voice"
    chime.mkdir(parents=True, exist_ok=True)
    voice.mkdir(parents=True, exist_ok=True)
    if shutil.which("sox"):
        # success: a rising two-tone (ピンポン); error: two low, short beeps.
        run("sox", "-n", "-r", "22050", "-b", "16", "-c", "1",
                        str(chime / "success.wav"), "synth", "0.25", "sine", "880",
                        "sine", "1175", "fade", "0", "0.5", "0.3", "gain", "-8")
        run("sox", "-n", "-r", "22050", "-b", "16", "-c", "1",
                        str(chime / "error.wav"), "synth", "0.15", "square", "330",
                        "pad", "0", "0.08", "repeat", "1", "gain", "-14")
    if shutil.which("espeak-ng"):
        for step, text in VOICE.items():
            raw = voice / f"{step}.raw.wav"
            run("espeak-ng", "-v", "ja", "-s", "150", "-w", str(raw), text)
            run("sox", str(raw), "-r", "12000", "-c", "1", "-b", "16",
                            str(voice / f"{step}.wav"))
            raw.unlink()
    else:
        print("espeak-ng not found: voice guidance not regenerated", file=sys.stderr)


if __name__ == "__main__":
    make_icons()
    make_sounds()
    print("assets regenerated in", IMAGES, "and", SOUNDS)
