"""The translation layer every resident-facing string goes through.

Japanese is the source language: msgids are the Japanese text (as in the catalog TOML),
and `assets/locale/<lang>/LC_MESSAGES/<domain>.po` translates them: domain ``kiosk`` for
the kiosk app, ``web`` for the pages the back-office serves (phone status page, display),
``payment`` for the payment screens. The .po files are read
directly with Babel, so there is no compile step to forget on a kiosk image.

A missing translation falls back along a chain that suits the reader: a Vietnamese
resident is better served by English than by kanji, so non-Japanese languages fall back
to English before the Japanese source; やさしい日本語 falls back to Japanese.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LOCALE_DIR = Path(os.environ.get(
    "KIOSK_LOCALE_DIR", Path(__file__).resolve().parent.parent / "assets" / "locale"))
DEFAULT_DOMAIN = "kiosk"


@dataclass(frozen=True)
class Language:
    code: str       # our code, also the folder name under assets/locale
    native: str     # how the language names itself, for the language picker
    bcp47: str      # for HTML lang= and speech synthesis


LANGUAGES: tuple[Language, ...] = (
    Language("ja", "日本語", "ja-JP"),
    Language("ja-easy", "やさしい にほんご", "ja-JP"),
    Language("en", "English", "en"),
    Language("zh-Hans", "简体中文", "zh-CN"),
    Language("ko", "한국어", "ko-KR"),
    Language("vi", "Tiếng Việt", "vi-VN"),
    Language("pt", "Português", "pt-BR"),
)
LANGUAGE_CODES = tuple(lang.code for lang in LANGUAGES)
DEFAULT_LANGUAGE = "ja"


def language(code: str) -> Language:
    for lang in LANGUAGES:
        if lang.code == code:
            return lang
    raise KeyError(code)


def fallback_chain(code: str) -> tuple[str, ...]:
    if code in ("ja", "ja-easy"):
        return (code,) if code == "ja" else ("ja-easy",)
    return (code, "en") if code != "en" else ("en",)


@functools.cache
def _messages(code: str, domain: str) -> dict[str, str | tuple[str, ...]]:
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=None)
    out: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if isinstance(message.string, str):
            if message.string:
                out[key] = message.string
        elif message.string and all(message.string):
            out[key] = tuple(message.string)
    return out


class Translator:
    """Translates Japanese source strings into one language, with named placeholders."""

    def __init__(self, code: str, domain: str = DEFAULT_DOMAIN) -> None:
        if code not in LANGUAGE_CODES:
            raise KeyError(f"unsupported language {code!r}")
        self.code = code
        self.domain = domain
        self._chain = fallback_chain(code)

    @property
    def language(self) -> Language:
        return language(self.code)

    def gettext(self, msgid: str) -> str:
        for code in self._chain:
            found = _messages(code, self.domain).get(msgid)
            if isinstance(found, str):
                return found
        return msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        for code in self._chain:
            found = _messages(code, self.domain).get(singular)
            if isinstance(found, tuple):
                return found[0] if n == 1 or len(found) == 1 else found[1]
        return singular if n == 1 else plural

    def __call__(self, msgid: str, **values: Any) -> str:
        text = self.gettext(msgid)
        if not values:
            return text
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            # A translator's typo in a placeholder must not crash the kiosk: use the source.
            log.warning("bad placeholder in %s translation of %r", self.code, msgid)
            return msgid.format(**values)


@functools.cache
def translator(code: str = DEFAULT_LANGUAGE, domain: str = DEFAULT_DOMAIN) -> Translator:
    return Translator(code, domain)


def reload() -> None:
    """Forget loaded catalogs (after editing .po files in development)."""
    _messages.cache_clear()
    translator.cache_clear()
