"""Fonts for printing: the bundled BIZ UD Gothic, plus glyph-coverage checks.

BIZ UD Gothic covers Japanese and Latin but not Hangul or every Vietnamese letter; a line
it cannot draw falls back to another installed face, and when none has the glyphs the
caller prints the English text instead of boxes (`can_draw`).
"""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

from kiosk.configfile import ASSETS_DIR

FONT_DIR = ASSETS_DIR / "fonts"
REGULAR = FONT_DIR / "BIZUDGothic-Regular.ttf"
BOLD = FONT_DIR / "BIZUDGothic-Bold.ttf"
# Faces tried, in order, for a line the bundled font cannot draw (Debian packages
# fonts-wqy-microhei: Hangul and simplified Chinese; fonts-dejavu-core: Vietnamese).
FALLBACKS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)


@functools.cache
def font(size: int, bold: bool = False, path: Path | None = None) -> ImageFont.FreeTypeFont:
    # BASIC layout: Japanese needs no shaping, and raqm makes measuring ~20× slower.
    return ImageFont.truetype(str(path or (BOLD if bold else REGULAR)), size,
                              layout_engine=ImageFont.Layout.BASIC)


@functools.cache
def _notdef(path: Path) -> bytes:
    # U+10FFFD is a private-use code point no face here draws: its mask is the .notdef box.
    return bytes(font(24, path=path).getmask("\U0010fffd"))


@functools.cache
def _has_glyph(path: Path, char: str) -> bool:
    if char.isspace() or ord(char) < 0x80:
        return True
    return bytes(font(24, path=path).getmask(char)) != _notdef(path)


def can_draw(text: str, path: Path = REGULAR) -> bool:
    return all(_has_glyph(path, c) for c in text)


def face_for(text: str) -> Path | None:
    """The first face that draws every character of `text` (None: no face does)."""
    for path in (REGULAR, *FALLBACKS):
        if path.exists() and can_draw(text, path):
            return path
    return None
