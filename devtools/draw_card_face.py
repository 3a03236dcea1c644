"""Draw assets/images/card_face_code_b.png: where the three parts of 照合番号B are printed
on the front of a My Number card — a schematic of our own (no image of a real card), with
numbered markers only, so the labels beside it can be in the resident's language.

    .venv/bin/python devtools/draw_card_face.py

① the birth date line (和暦), ② the expiry date (its year), ③ the 4-digit security code
under the photo. Bars stand for text; nothing on it is anyone's data.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "images" / "card_face_code_b.png"
FONT = ROOT / "assets" / "fonts" / "BIZUDGothic-Bold.ttf"
W, H = 856, 540          # the card's 85.6 × 54 mm at 10 px/mm
PAD = 24
MARK = {1: "#C0392B", 2: "#1F5FAD", 3: "#1E7D32"}   # red, blue, green: each ≥ 4.5:1 on white


def bar(d: ImageDraw.ImageDraw, x: int, y: int, w: int, h: int = 22,
        fill: str = "#9AA5B1") -> None:
    d.rounded_rectangle((x, y, x + w, y + h), radius=6, fill=fill)


def marker(d: ImageDraw.ImageDraw, box: tuple[int, int, int, int], n: int,
           font: ImageFont.FreeTypeFont, at: tuple[int, int]) -> None:
    d.rounded_rectangle(box, radius=10, outline=MARK[n], width=7)
    r = 30
    cx, cy = at
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=MARK[n])
    d.text((cx, cy), str(n), font=font, fill="white", anchor="mm")


def draw() -> Image.Image:
    img = Image.new("RGBA", (W + 2 * PAD, H + 2 * PAD), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 40)
    x0, y0 = PAD, PAD
    d.rounded_rectangle((x0, y0, x0 + W, y0 + H), radius=36, fill="#FFFFFF",
                        outline="#4A5561", width=5)
    d.rounded_rectangle((x0 + 5, y0 + 5, x0 + W - 5, y0 + 70), radius=30, fill="#DCE8F2")
    bar(d, x0 + 40, y0 + 26, 260, 24, "#6B7B8C")                  # the card's title
    # name and address lines
    bar(d, x0 + 40, y0 + 100, 360, 30)
    bar(d, x0 + 40, y0 + 160, 480, 22)
    bar(d, x0 + 40, y0 + 195, 420, 22)
    # ① birth date line (era year) + sex
    bar(d, x0 + 60, y0 + 262, 330, 26, "#5D6D7E")
    bar(d, x0 + 420, y0 + 262, 90, 26)
    marker(d, (x0 + 44, y0 + 246, x0 + 406, y0 + 304), 1, font, (x0 + 44, y0 + 246))
    # ② expiry date: "…年…月…日まで有効" in its box at the lower left
    d.rectangle((x0 + 40, y0 + 400, x0 + 470, y0 + 470), outline="#6B7B8C", width=3)
    bar(d, x0 + 70, y0 + 424, 120, 26, "#5D6D7E")                 # the year
    bar(d, x0 + 205, y0 + 424, 230, 26)
    marker(d, (x0 + 56, y0 + 410, x0 + 200, y0 + 462), 2, font, (x0 + 56, y0 + 410))
    # photo at the right, the security code under it
    px0, py0, px1, py1 = x0 + 600, y0 + 100, x0 + 810, y0 + 360
    d.rectangle((px0, py0, px1, py1), fill="#E5E8EB", outline="#6B7B8C", width=3)
    d.ellipse((px0 + 65, py0 + 40, px1 - 65, py0 + 120), fill="#AEB6BF")
    d.pieslice((px0 + 30, py0 + 130, px1 - 30, py1 + 80), 180, 360, fill="#AEB6BF")
    for i in range(4):
        bar(d, px0 + 30 + i * 40, y0 + 400, 30, 34, "#5D6D7E")    # four digits
    marker(d, (px0 + 14, y0 + 386, px0 + 196, y0 + 448), 3, font, (px0 + 14, y0 + 386))
    return img


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    draw().save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(ROOT)}")
