"""Every text of the payment screens is translated, placeholders intact."""

from __future__ import annotations

import re

import pytest

from kiosk.i18n import LANGUAGE_CODES, Translator
from kiosk.payment.flow import I18N_DOMAIN, TEXTS


@pytest.mark.parametrize("lang", [code for code in LANGUAGE_CODES if code != "ja"])
def test_payment_texts_translated(lang: str) -> None:
    tr = Translator(lang, I18N_DOMAIN)
    for msgid in TEXTS:
        text = tr.gettext(msgid)
        assert text != msgid or (lang == "ja-easy" and msgid in ("もどる", "とりけす")), msgid
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", msgid))
