"""What the accessibility tests measure on a kiosk screen: its live buttons, and the
contrast of a button's words against its face in a screenshot."""

from __future__ import annotations

from typing import Any


def buttons(widgets: Any) -> list[Any]:
    """The buttons a resident can press now: each names its action (a list), is enabled
    and visible. A key grid names only its keys' action (a string) and is not one."""
    return [w for w in widgets if isinstance(getattr(w, "action", None), list)
            and not w.disabled and w.opacity > 0]


def text_contrast(img: Any, w: Any) -> float:
    """The contrast ratio of the words on button `w` in screenshot `img`: the face is the
    commonest colour, the words the commonest colour clearly different from it."""
    from kiosk.ui.theme import contrast

    x0, y0 = w.to_window(w.x, w.y)
    top = w.height * (0.58 if getattr(w, "icon", "") else 0)  # the words, not the pictogram
    box = (int(x0) + 4, int(img.height - y0 - w.height + top) + 4, int(x0 + w.width) - 4,
           int(img.height - y0) - 4)
    colors = sorted(img.crop(box).getcolors(1 << 20), reverse=True)
    bg = colors[0][1]
    fg = next(c for _n, c in colors[1:]
              if sum(abs(a - b) for a, b in zip(c, bg, strict=True)) > 200)
    return float(contrast(tuple(v / 255 for v in bg), tuple(v / 255 for v in fg)))
