"""Measuring what the resident sees: the contrast of a widget's words, from the pixels."""

from __future__ import annotations

from typing import Any

from kiosk.ui.theme import contrast


def words_contrast(img: Any, w: Any) -> float:
    """The contrast of a widget's words on its face, measured in a screenshot (`img`,
    a PIL image of the window): the face is its commonest colour, the words the commonest
    colour clearly different from it. Icon buttons: the words, not the pictogram."""
    h = img.height
    x0, y0 = w.to_window(w.x, w.y)
    top = w.height * (0.58 if getattr(w, "icon", "") else 0)
    box = (int(x0) + 4, int(h - y0 - w.height + top) + 4, int(x0 + w.width) - 4,
           int(h - y0) - 4)
    colors = sorted(img.crop(box).getcolors(1 << 20), reverse=True)
    bg = colors[0][1]
    fg = next(c for _n, c in colors[1:]
              if sum(abs(a - b) for a, b in zip(c, bg, strict=True)) > 200)
    return contrast(tuple(v / 255 for v in bg), tuple(v / 255 for v in fg))
