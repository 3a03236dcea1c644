"""The kiosk's translation catalogs: complete, up to date, placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
FULL = ("en", "zh-Hans", "ko", "vi", "pt")


def catalog(lang: str) -> dict[str, str]:
    path = ROOT / "assets" / "locale" / lang / "LC_MESSAGES" / "kiosk.po"
    with path.open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh) if m.id}


def test_catalogs_hold_every_resident_facing_string() -> None:
    result = subprocess.run([sys.executable, "scripts/kiosk_messages.py", "--check"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("lang", FULL)
def test_every_string_is_translated_with_its_placeholders(lang: str) -> None:
    names = re.compile(r"\{(\w+)\}")
    for msgid, text in catalog(lang).items():
        assert text, f"{lang}: untranslated {msgid!r}"
        assert set(names.findall(msgid)) == set(names.findall(text)), (lang, msgid, text)


def test_catalog_procedures_are_translated() -> None:
    from kiosk.configfile import load_catalog
    from kiosk.i18n import translator
    for p in load_catalog().procedures.values():
        for lang in FULL:
            assert translator(lang)(p.name) != p.name, (lang, p.name)
