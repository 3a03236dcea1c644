"""Colours and sizes of the four display modes. Pure data, checked by the tests.

High contrast: every text/background pair is at least 7:1 (WCAG AAA), measured again
from screenshots in tests/ui. Sizes derive from the configured DPI so a touch target is
never smaller than `touch_target_mm` on the real panel.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]


def hex_rgb(code: str) -> RGB:
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255)


def luminance(rgb: RGB) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Palette:
    bg: str          # screen background
    fg: str          # body text
    panel: str       # header / cards
    button: str      # ordinary button face
    button_fg: str
    primary: str     # the one "go on" button
    primary_fg: str
    danger: str      # errors
    danger_fg: str
    muted: str       # secondary text on bg

    def rgba(self, name: str, alpha: float = 1.0) -> list[float]:
        return [*hex_rgb(getattr(self, name)), alpha]

    def pairs(self) -> list[tuple[str, str]]:
        return [("fg", "bg"), ("fg", "panel"), ("button_fg", "button"),
                ("primary_fg", "primary"), ("danger_fg", "danger"), ("muted", "bg")]


DEFAULT = Palette(bg="#F4F6F8", fg="#1B1B1B", panel="#FFFFFF", button="#FFFFFF",
                  button_fg="#1B1B1B", primary="#0A4EA6", primary_fg="#FFFFFF",
                  danger="#A1140C", danger_fg="#FFFFFF", muted="#4A4F55")
HIGH_CONTRAST = Palette(bg="#000000", fg="#FFFFFF", panel="#000000", button="#000000",
                        button_fg="#FFFF00", primary="#FFFF00", primary_fg="#000000",
                        danger="#FFFFFF", danger_fg="#000000", muted="#FFFFFF")

TEXT_SCALE = {False: 1.0, True: 1.4}
