"""The translation layer: fallback chains and placeholders."""

from __future__ import annotations

import pytest

from kiosk.i18n import LANGUAGE_CODES, Translator, fallback_chain, translator


def test_required_languages() -> None:
    assert {"ja", "ja-easy", "en", "zh-Hans", "ko", "vi", "pt"} <= set(LANGUAGE_CODES)


def test_fallbacks_prefer_english_for_foreign_readers() -> None:
    assert fallback_chain("vi") == ("vi", "en")
    assert fallback_chain("ja") == ("ja",)


def test_untranslated_falls_back_to_source() -> None:
    assert translator("ja")("未翻訳のテスト文字列") == "未翻訳のテスト文字列"
    assert translator("en")("{n}番窓口", n=3) == translator("en").gettext("{n}番窓口").format(n=3)


def test_unknown_language() -> None:
    with pytest.raises(KeyError):
        Translator("xx")
