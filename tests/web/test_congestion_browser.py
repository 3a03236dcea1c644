"""The public congestion page (issue #19) in headless Chromium at a phone's viewport,
against a real back-office: readable in Japanese and English, every control labelled,
every table captioned with header cells, WCAG contrast, no script or CSP error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Shots, issue
from tests.web.test_pages_browser import PHONE, assert_contrast, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LABELS_JS = """() => {
  const unlabelled = [];
  for (const el of document.querySelectorAll('select, input:not([type=hidden]), button, a')) {
    const name = (el.labels && el.labels.length ? el.labels[0].textContent : '')
      || el.getAttribute('aria-label') || el.textContent;
    if (!name || !name.trim()) unlabelled.push(el.outerHTML.slice(0, 80));
  }
  const tables = [...document.querySelectorAll('table')];
  const bare = tables.filter(t => !t.caption || !t.caption.textContent.trim()
    || !t.querySelector('th[scope=col]')).map(t => t.outerHTML.slice(0, 80));
  const headings = [...document.querySelectorAll('h1, h2')].map(h => h.textContent.trim());
  return {unlabelled, bare, tables: tables.length, headings,
          lang: document.documentElement.lang};
}"""


def test_congestion_page_on_a_phone(backoffice: Any, browser: Any, shots: Shots) -> None:
    for _ in range(3):
        issue(backoffice, "certificates")
    errors: list[str] = []
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{backoffice.url}/congestion/kita")
    facts = page.text_content("#svc-certificates dl.facts") or ""
    assert "お待ちの人数" in facts and "3 人" in facts
    assert page.locator("#svc-certificates .level").first.text_content() in (
        "○ 空いています", "△ やや混雑", "× 混雑")
    seen = page.evaluate(LABELS_JS)
    assert seen["lang"] == "ja-JP" and seen["tables"] >= 1
    assert not seen["unlabelled"], seen["unlabelled"]
    assert not seen["bare"], seen["bare"]
    assert seen["headings"][0].endswith("の混雑状況")
    # nothing wider than the phone: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_contrast(page, 4.5, 3.0, "congestion")
    shots.take(page, "congestion-ja", docs=True)
    page.select_option("#lang-select", "en")
    page.click("form.lang button")
    page.wait_for_selector("#svc-certificates h2:has-text(\"Certificate\")")
    assert "People waiting" in (page.text_content("#svc-certificates") or "")
    assert_contrast(page, 4.5, 3.0, "congestion (en)")
    shots.take(page, "congestion-en")
    json_href = page.get_attribute("#json-link", "href")
    assert json_href == "/api/v1/public/congestion/kita"
    assert not errors, errors
    ctx.close()
