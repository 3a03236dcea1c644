"""Static files and HTML templates of the served pages, all inside this package.

Nothing comes from a CDN: ward networks are closed. The kanji font is the repository's
own BIZ UD Gothic (assets/fonts), served under static/fonts/.
"""

from __future__ import annotations

import functools
import html
import re
import string
from collections.abc import Callable
from pathlib import Path

from kiosk.configfile import ASSETS_DIR

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
FONT_DIR = ASSETS_DIR / "fonts"

STATIC_PREFIX = "/web/static"

MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".wav": "audio/wav",
    ".ttf": "font/ttf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def static_file(name: str) -> Path | None:
    """The file behind /web/static/<name>, or None: only plain names, never a path escape."""
    if name.startswith("fonts/"):
        base, leaf = FONT_DIR, name.removeprefix("fonts/")
    else:
        base, leaf = STATIC_DIR, name
    if not leaf or "/" in leaf or "\\" in leaf or leaf.startswith("."):
        return None
    path = base / leaf
    if path.suffix not in MEDIA_TYPES or not path.is_file():
        return None
    return path


# A template's own words: {{日本語}} = a msgid of the `web` domain (docs/web.md).
WORD = re.compile(r"\{\{(.+?)\}\}")


@functools.cache
def _template(name: str, tr: Callable[[str], str] | None = None) -> string.Template:
    text = (TEMPLATE_DIR / name).read_text(encoding="utf-8")
    text = WORD.sub(lambda m: html.escape(tr(m[1]) if tr else m[1]).replace("$", "$$"), text)
    return string.Template(text)


def _escaped(values: dict[str, object]) -> dict[str, str]:
    return {k: (str(v) if k.endswith("_html") else html.escape(str(v), quote=True))
            for k, v in values.items()}


def fragment(name: str, /, tr: Callable[[str], str] | None = None, **values: object) -> str:
    """A part shared by several pages (its {{words}} translated by `tr`), put in a page as
    one of its ``*_html`` values; values escaped as in `render`."""
    return _template(name, tr).substitute(_escaped(values))


def render(name: str, /, *, title: str, lang: str = "ja",
           tr: Callable[[str], str] | None = None, **values: object) -> str:
    """Fill a template below the shared <head> (head.html); every value is HTML-escaped
    unless its key ends in ``_html``. `tr` translates the template's {{…}} words (the
    Japanese msgid itself without it)."""
    filled = _escaped({"static": STATIC_PREFIX, "title": title, "lang": lang, **values})
    filled["head_html"] = _template("head.html").substitute(filled)
    return _template(name, tr).substitute(filled)
