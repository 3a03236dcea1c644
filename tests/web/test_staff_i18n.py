"""Staff pages in more than Japanese, without a browser: every word of the console,
supervisor and central pages is a catalog msgid, translated in every staff language."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.pofile import read_po

from kiosk.backoffice.web import assets, central_view, console_view, staff_i18n
from kiosk.backoffice.web.phone import t
from kiosk.configfile import load_catalog
from kiosk.i18n import LOCALE_DIR
from tests.web.staff_words import (
    JAPANESE,
    STAFF_SCRIPTS,
    STAFF_TEMPLATES,
    WEB,
    staff_msgids,
)


def _catalog(code: str) -> dict[str, str]:
    with (LOCALE_DIR / code / "LC_MESSAGES" / "web.po").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id and not m.fuzzy}


@pytest.mark.parametrize("code", staff_i18n.STAFF_LANGUAGES)
def test_every_staff_word_is_translated(code: str) -> None:
    catalog = _catalog(code)
    words = staff_msgids()
    assert len(words) > 150
    missing = [m for m in words if not catalog.get(m)]
    assert not missing, f"{code}: untranslated {missing}"
    for msgid in words:
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", catalog[msgid]))
    if code not in ("ja", "zh-Hans"):  # Chinese shares the kanji; others must not show any
        leftover = {m: catalog[m] for m in words if JAPANESE.search(catalog[m])}
        assert not leftover, f"{code}: Japanese left in {leftover}"


def test_staff_templates_have_no_untranslated_text() -> None:
    for name in STAFF_TEMPLATES:
        text = (assets.TEMPLATE_DIR / name).read_text(encoding="utf-8")
        outside = re.sub(r"\{\{.+?\}\}", "", text)
        assert not JAPANESE.search(outside), (name, JAPANESE.findall(outside)[:10])


def test_staff_scripts_have_no_untranslated_string() -> None:
    for name in STAFF_SCRIPTS:
        for number, line in enumerate((WEB / "static" / name).read_text("utf-8").splitlines()):
            code = line.split("//")[0] if not line.lstrip().startswith(("/*", "*")) else ""
            code = re.sub(r'\bT\("(?:[^"\\]|\\.)+"', "", code)
            if name == "live.js" and "defaultLost" in code:
                continue  # the display's bilingual fallback, used when a page sends no words
            assert not JAPANESE.search(code), f"{name}:{number + 1}: {line.strip()}"


def test_a_staff_page_in_english_has_no_japanese_but_the_language_names() -> None:
    tr = t("en")
    html_text = assets.render("console.html", title=tr("窓口コンソール"), lang="en", tr=tr,
                              config="{}", strings="{}", language_form_html=staff_i18n
                              .language_form_html("en", "/console"))
    visible = re.sub(r"<option[^>]*>[^<]*</option>", "", html_text)
    assert not JAPANESE.search(visible), JAPANESE.findall(visible)[:10]
    assert "Call next" in html_text and 'lang="en"' in html_text
    ja = assets.render("console.html", title="窓口コンソール", config="{}", strings="{}",
                       language_form_html="")
    assert "次を呼ぶ" in ja and "{{" not in ja


def test_template_words_are_escaped_and_dollars_kept() -> None:
    out = assets.render("console.html", title="x", config="{}", strings="{}",
                        language_form_html="", tr=lambda m: "<b>$5</b>")
    assert "<b>" not in out and "&lt;b&gt;$5&lt;/b&gt;" in out


def test_script_strings_carry_the_catalog_names() -> None:
    strings = staff_i18n.script_strings(("live.js", "console.js"), "en", load_catalog())
    import json

    words = json.loads(strings)
    assert words["次を呼ぶ"] if "次を呼ぶ" in words else True
    assert words["{number} を呼び出しました"] == "{number} called"
    assert words["証明書の発行"] == "Certificates" and words["北区役所"] == "Kita Ward Office"
    assert words["1番窓口"] == "Counter 1"


def test_language_choice_and_safe_return_path() -> None:
    assert staff_i18n.local_path("/central?from=2026-11-01") == "/central?from=2026-11-01"
    for bad in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", "",
                None, "/\\evil"):
        assert staff_i18n.local_path(bad) == "/console", bad
    form = staff_i18n.language_form_html("ko", '/console?x="><script>')
    assert 'value="ko" lang="ko-KR" selected' in form and "<script>" not in form
    assert "ja-easy" not in form  # やさしい日本語 is for residents


def test_console_summary_and_form_words_in_english() -> None:
    catalog = load_catalog()
    ticket = {"procedure": "juminhyo", "priority": "assistance", "language": "vi",
              "fee_yen": 600, "payment_status": "paid"}
    assert console_view.ticket_summary(ticket, catalog, "ja") == [
        "住民票の写し", "要支援", "言語: Tiếng Việt", "手数料 600円(キャッシュレスで支払済)"]
    en = console_view.ticket_summary(ticket, catalog, "en")
    assert en[1:] == ["needs assistance", "Language: Tiếng Việt", "Fee ¥600 (paid cashless)"]
    assert not JAPANESE.search(" ".join(en))
    laid_out = {"title": "住民票の写し 交付申請書", "sections": [
        {"heading": "申請者（窓口に来られた方）", "rows": [
            {"label": "氏名", "value": "山田 花子"}, {"label": "記載事項", "value": "世帯全員"}]},
        {"heading": "本人確認", "rows": [
            {"label": "カードの真正性", "value": "—（カードを使用していません）"}]}]}
    app = {"application": {"procedure": "juminhyo"}}
    out = console_view.translated_sections(laid_out, app, catalog, "en")
    assert out["title"].endswith("— application form")
    assert [s["heading"] for s in out["sections"]] == [
        "Applicant (the person at the counter)", "Identity check"]
    rows = out["sections"][0]["rows"]
    assert rows[0] == {"label": "Name", "value": "山田 花子"}  # the resident's own data
    assert not JAPANESE.search(rows[1]["value"])                 # a chosen option
    assert console_view.translated_sections(laid_out, app, catalog, "ja") == laid_out



def test_form_values_read_in_the_clerks_language() -> None:
    """Dates, copies, fiscal years and the fee are shown in the clerk's language; the
    printed form's 和暦 and 「通」「円」 stay for Japanese. The real layout of a 住民票 and a
    所得証明 application, through application_view as the console gets it."""
    from kiosk.backoffice.web.application_view import application_sections
    catalog = load_catalog()
    ticket = {"ward": "kita", "number": "A-001", "issued_at": "2026-11-21T09:00:00+09:00",
              "application": {"procedure": "juminhyo", "identity": "card", "values": {
                  "name": "山田 花子", "address": "堺市北区新金岡町5丁1-1",
                  "birth_date": "1985-03-07", "copies": 2, "purpose": "金融機関"}}}
    ja = application_sections(ticket, catalog)
    ja_values = [r["value"] for sec in ja["sections"] for r in sec["rows"]]
    assert "2通" in ja_values and any("昭和60年" in v for v in ja_values)
    en = console_view.translated_sections(ja, ticket, catalog, "en")
    rows = {r["key"]: r["value"] for sec in en["sections"] for r in sec["rows"]}
    assert rows["birth_date"] == "1985-03-07"
    assert rows["copies"] == "2 copies"
    assert rows["fee_yen"] == "¥600"
    assert rows["name"] == "山田 花子"  # the resident's own data, as given
    year = console_view._value({"kind": "year", "key": "year", "raw": 2024, "value": "x"},
                               console_view.t("ko"), "ko")
    assert year == "2024년도"
    free = console_view._value({"key": "fee_yen", "raw": 0, "value": "無料"},
                               console_view.t("en"), "en")
    assert not JAPANESE.search(free)


def test_a_purged_record_reads_in_the_clerks_language() -> None:
    from kiosk.backoffice.web.application_view import application_sections
    catalog = load_catalog()
    ticket = {"application": None,
              "application_purged": {"at": "2026-11-21T15:00:07+00:00", "reason": "finished"}}
    ja = application_sections(ticket, catalog)
    assert ja["sections"][0]["rows"][0]["value"].startswith("削除済み(受付が終わり")
    en = console_view.translated_sections(ja, ticket, catalog, "en")
    text = " ".join([en["sections"][0]["heading"]]
                    + [f"{r['label']} {r['value']}" for r in en["sections"][0]["rows"]])
    assert "Deleted (the visit ended" in text and "2026-11-21 15:00" in text
    assert not JAPANESE.search(text)
    assert en["purged"] == ticket["application_purged"]  # the page still knows it is purged

FIGURES = {"from": "2026-11-20", "to": "2026-11-21", "wards": [
    {"ward": "kita", "issued": 3, "served": 2, "no_shows": 1, "cancelled": 0, "called": 3,
     "mean_wait_seconds": 300, "p90_wait_seconds": 600, "within_target": 2,
     "within_target_share": 0.6667,
     "services": [{"service": "certificates", "target_wait_seconds": 900, "issued": 3,
                   "served": 2, "no_shows": 1, "cancelled": 0, "called": 3,
                   "mean_wait_seconds": 300, "p90_wait_seconds": 600, "within_target": 2,
                   "within_target_share": 0.6667}],
     "procedures": [{"procedure": None, "issued": 3, "served": 2, "no_shows": 1,
                     "cancelled": 0, "called": 3, "mean_wait_seconds": 300,
                     "p90_wait_seconds": 600, "within_target": 2,
                     "within_target_share": 0.6667}]}]}


def test_central_tables_chart_and_csv_rows_in_english() -> None:
    catalog = load_catalog()
    tables = central_view.period_tables_html(FIGURES, catalog, "en")
    chart = central_view.chart_svg(FIGURES, catalog, "en")
    rows = central_view.csv_rows(FIGURES, catalog, "en")
    for text in (tables, chart, "\n".join(",".join(map(str, r)) for r in rows)):
        assert not JAPANESE.search(text), JAPANESE.findall(text)[:5]
    assert "66.7%" in chart and "Kita Ward Office · Certificates" in chart
    assert rows[0][:3] == ["period from", "period to", "ward code"]
    assert rows[1][:5] == ["2026-11-20", "2026-11-21", "kita", "Kita Ward Office", "ward total"]
    assert rows[3][4:7] == ["Procedure", "", "(not recorded)"]
    ja = central_view.csv_rows(FIGURES, catalog, "ja")
    assert ja[0][0] == "期間開始" and ja[2][6] == "証明書の発行"
    assert date.fromisoformat(ja[1][0])


def test_web_catalogs_pass_msgfmt_check() -> None:
    import shutil
    import subprocess

    if shutil.which("msgfmt") is None:
        pytest.skip("gettext's msgfmt is not installed")
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/web.po")):
        done = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{po}: {done.stderr}"
