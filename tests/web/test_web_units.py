"""The web pages' server-side pieces without a browser: wording, languages, labels, assets."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.backoffice.web import assets, phone, routes
from kiosk.backoffice.web.application_view import application_rows
from kiosk.backoffice.web.chime import CHIME_PATH, chime_wav
from kiosk.configfile import load_catalog
from kiosk.domain.application import Application, Identity
from kiosk.domain.my_number import MyNumberCheck
from kiosk.i18n import LANGUAGE_CODES, LOCALE_DIR

WEB = Path(assets.__file__).resolve().parent
SOURCES = [WEB / "phone.py", WEB / "routes.py"]


def _catalog(code: str) -> dict[str, str]:
    with (LOCALE_DIR / code / "LC_MESSAGES" / "web.po").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


def _used_msgids() -> set[str]:
    """The resident pages' words (phone, display): every web language has them."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    found = set(re.findall(r'(?:tr|both)\("([^"]+)"', text))
    found |= set(re.findall(r'"(?:serving|held|no_show|done|cancelled)": "([^"]+)"', text))
    found |= {routes.NOT_FOUND_TEXT, routes.UNAVAILABLE_TEXT}
    # the 403 page's words are the staff pages' (checked in tests/web/test_staff_i18n.py)
    return found - {"権限がありません", "窓口コンソールへ戻る"}


@pytest.mark.parametrize("code", LANGUAGE_CODES)
def test_every_page_string_is_translated_with_its_placeholders(code: str) -> None:
    catalog = _catalog(code)
    used = _used_msgids()
    assert len(used) > 20
    missing = sorted(m for m in used if not catalog.get(m))
    assert not missing, f"{code}: untranslated {missing}"
    for msgid, msgstr in catalog.items():
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", msgstr)), (code, msgid)


def test_language_choice() -> None:
    assert phone.choose_language("en", "ja") == "en"
    assert phone.choose_language("xx", "vi-VN,vi;q=0.9,en;q=0.5") == "vi"
    assert phone.choose_language(None, "zh-TW,zh;q=0.8") == "zh-Hans"
    assert phone.choose_language(None, "pt-BR") == "pt"
    assert phone.choose_language(None, "de-DE,fr") == "ja"
    assert phone.choose_language(None, None) == "ja"


STATUS = {"number": "A-012", "ward": "kita", "ward_name": "北区役所", "service": "certificates",
          "service_name": "証明書の発行", "status": "waiting", "position": 4, "people_ahead": 3,
          "estimated_wait_seconds": 540, "counter": None}


def test_phone_view_waiting_called_and_finished() -> None:
    v = phone.phone_view(STATUS, "en")
    assert (v["people_ahead"], v["estimated_wait"], v["show_facts"]) == ("3", "about 9 min", True)
    assert v["called_text"] == v["state_text"] == ""
    v = phone.phone_view({**STATUS, "status": "called", "counter": 3}, "ja")
    assert v["called_text"] == "お呼び出しです — 3 番窓口へお越しください"
    assert not v["show_facts"]
    assert phone.phone_view({**STATUS, "status": "called", "counter": 3}, "en")["called_text"] \
        == "Your number has been called — please go to counter 3"
    assert phone.phone_view({**STATUS, "status": "done"}, "ko")["state_text"].startswith("절차가")
    soon = phone.phone_view({**STATUS, "estimated_wait_seconds": 20}, "ja")
    assert soon["estimated_wait"] == "まもなくです"


def test_application_rows_are_labelled_and_never_hold_the_number() -> None:
    catalog = load_catalog()
    proc = catalog.procedure("jidoteate")
    app = Application.build(proc, {"name": "山田 太郎", "address": "堺市北区1-2-3",
                                   "birth_date": "1985-04-01", "sex": "1",
                                   "my_number": MyNumberCheck.of("123456789018"), "children": 2},
                            Identity.CARD)
    rows = {r["label"]: r["value"] for r in application_rows(app.to_dict(), catalog)}
    assert rows["手続き"] == "児童手当の申請"
    assert rows["氏名"] == "山田 太郎"
    assert rows["生年月日"].startswith("1985-04-01") and "昭和60年" in rows["生年月日"]
    assert rows["性別"] == "男"
    assert rows["対象のお子さんの人数"] == "2"
    assert rows["本人情報の入手方法"].startswith("マイナンバーカード")
    assert "123456789018" not in str(rows) and rows["個人番号"].startswith("*")
    juminhyo = catalog.procedure("juminhyo")
    app = Application.build(juminhyo, {"name": "a", "address": "b", "birth_date": "2000-01-02",
                                       "copies": 2}, Identity.TYPED)
    rows = {r["label"]: r["value"] for r in application_rows(app.to_dict(), catalog)}
    assert rows["通数"] == "2 通" and rows["記載事項"] == "世帯全員"
    assert application_rows(None, catalog) == []


def test_static_files_never_escape_their_folders() -> None:
    assert assets.static_file("web.css") is not None
    assert assets.static_file("fonts/BIZUDGothic-Regular.ttf") is not None
    for bad in ("../routes.py", "..", "", ".hidden", "fonts/../web.css", "routes.py", "a/b.css"):
        assert assets.static_file(bad) is None, bad


def test_no_network_links_in_pages() -> None:
    for path in list((WEB / "templates").iterdir()) + list((WEB / "static").glob("*.[cj]s*")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), path.name


def test_templates_escape_values() -> None:
    out = assets.render("message.html", title="<script>x</script>", message="a&b",
                        lang="ja", extra_html="<p>ok</p>")
    assert "<script>x" not in out and "&lt;script&gt;" in out and "<p>ok</p>" in out


def test_committed_chime_is_the_generated_one() -> None:
    data = CHIME_PATH.read_bytes()
    assert data == chime_wav()
    with wave.open(io.BytesIO(data)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert 1.0 < seconds < 2.0 and len(data) < 40_000


def test_catalog_names_on_the_phone_page_are_translated() -> None:
    """Service and ward names reach residents on the phone page: English at least."""
    catalog = load_catalog()
    english = _catalog("en")
    names = [s.name for s in catalog.services.values()] + [w.name for w in catalog.wards.values()]
    assert not [n for n in names if not english.get(n)]
    view = phone.phone_view(STATUS, "en")
    assert (view["ward_name"], view["service_name"]) == ("Kita Ward Office", "Certificates")


def test_ticket_summary_tells_the_clerk_what_matters() -> None:
    from kiosk.backoffice.web.console_view import ticket_summary

    catalog = load_catalog()
    line = ticket_summary({"procedure": "juminhyo", "priority": "assistance", "language": "vi",
                           "fee_yen": 600, "payment_status": "paid"}, catalog)
    assert line == ["住民票の写し", "要支援", "言語: Tiếng Việt",
                    "手数料 600円(キャッシュレスで支払済)"]
    assert ticket_summary({"procedure": None, "language": "ja", "fee_yen": 0}, catalog) == []
    assert ticket_summary({"language": "zh", "fee_yen": 300, "payment_status": "none"},
                          catalog) == ["言語: 简体中文", "手数料 300円(未払い)"]
