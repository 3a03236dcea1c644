"""The public congestion figures and page (issue #19): the same numbers as the central
office's (now_figures; the period figures by hour), the levels from [public], caching
(Cache-Control + ETag/304), frame-ancestors from config, the public rate limit, and not one
byte of a resident's data — through the real server and database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from kiosk.backoffice import central
from kiosk.backoffice.congestion import congestion
from kiosk.backoffice.engine.lookups import service_estimate
from kiosk.i18n import LANGUAGE_CODES
from tests.backoffice.conftest import APPLICATION, issue, ok
from tests.backoffice.test_central import Day

TODAY = date(2026, 11, 20)                 # a Friday
NOW = datetime(2026, 11, 20, 0, 30)        # 09:30 in Japan (naive UTC)
TEN = datetime(2026, 11, 20, 1, 10)        # 10:10 in Japan


def history(bo: Any) -> None:
    d = Day(bo.engine)
    # two Fridays before: 4 tickets waiting 10 min at 10h, then 2 waiting 50 min at 10h
    for _ in range(4):
        d.ticket("kita", "certificates", wait=600, status="done", day=TODAY - timedelta(7),
                 issued=TEN - timedelta(days=7))
    for _ in range(2):
        d.ticket("kita", "certificates", wait=3000, status="done", day=TODAY - timedelta(14),
                 issued=TEN - timedelta(days=14))
    # a Monday: 1 ticket at 11h, waiting 1 min
    d.ticket("kita", "certificates", wait=60, status="done", day=TODAY - timedelta(4),
             issued=TEN - timedelta(days=4, hours=-1))
    # today: two waiting since 09:05
    for _ in range(2):
        d.ticket("kita", "certificates", wait=None, status="waiting",
                 issued=NOW - timedelta(minutes=25))


def test_figures_are_the_central_ones_by_hour(bo: Any) -> None:
    history(bo)
    fig = congestion(bo, "kita", NOW)
    cert = next(s for s in fig["services"] if s["service"] == "certificates")
    central_now = next(w for w in central.now_figures(bo.engine, bo.catalog, NOW)
                       if w["ward"] == "kita")
    same = next(s for s in central_now["services"] if s["service"] == "certificates")
    assert (cert["waiting"], cert["counters_open"]) == (same["waiting"], same["counters_open"])
    assert cert["waiting"] == 2
    ward = bo.catalog.wards["kita"]
    assert cert["estimated_wait_seconds"] == service_estimate(bo, ward, "certificates"
                                                              ).wait_seconds(2)
    assert fig["history_days"] == 3  # the office days the ward issued anything
    # today by hour: up to the current hour (9h): 2 issued, none called yet
    assert cert["today"][-1] == {"hour": 9, "issued": 2.0, "mean_wait_seconds": None,
                                 "level": None}
    # the coming hours: Friday's typical 10h = (4 + 2) / 2 Fridays, waits (4×600 + 2×3000) / 6
    assert [c["hour"] for c in cert["forecast"]] == [10, 11, 12]
    assert cert["forecast"][0] == {"hour": 10, "issued": 3.0, "mean_wait_seconds": 1400,
                                   "level": "somewhat"}
    assert cert["forecast"][1]["issued"] == 0.0  # Fridays were open at 11h, nobody came
    monday = next(d for d in cert["week"] if d["weekday"] == 0)
    eleven = next(c for c in monday["hours"] if c["hour"] == 11)
    assert eleven == {"hour": 11, "issued": 1.0, "mean_wait_seconds": 60, "level": "free"}
    assert [d["weekday"] for d in cert["week"]] == list(ward.hours.weekdays)


def test_levels_follow_the_config() -> None:
    from kiosk.backoffice.config_home import PublicSettings

    p = PublicSettings(somewhat_busy_minutes=10, busy_minutes=30)
    assert [p.level(s) for s in (0, 600, 601, 1800, 1801)] == [
        "free", "free", "somewhat", "somewhat", "busy"]
    assert p.frame_ancestors_csp == "'none'"


def test_config_refuses_a_bad_frame_ancestor() -> None:
    from kiosk.backoffice.config import Settings
    from kiosk.domain.section import ConfigError

    with pytest.raises(ConfigError, match="frame_ancestors"):
        Settings.from_mapping({"public": {"frame_ancestors": ["http://x.example; script-src"]}})
    with pytest.raises(ConfigError, match="busy_minutes"):
        Settings.from_mapping({"public": {"somewhat_busy_minutes": 30, "busy_minutes": 20}})


SITE = "https://www.city.example.jp"
LIMIT = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.backoffice import ServerFactory

    factory = ServerFactory(tmp_path_factory.mktemp("congestion"))
    try:
        yield factory.start(config={"public": {"frame_ancestors": [SITE], "cache_seconds": 30,
                                               "requests_per_minute": LIMIT}})
    finally:
        factory.close()


def test_json_and_page_are_cacheable_and_embeddable_only_by_the_city(server: Any) -> None:
    r = requests.get(server.api("/public/congestion/kita"), timeout=10)
    data = ok(r)
    assert data["ward"] == "kita" and data["services"]
    assert r.headers["Cache-Control"] == "public, max-age=30"
    again = requests.get(server.api("/public/congestion/kita"), timeout=10,
                         headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and not again.content
    page = requests.get(f"{server.url}/congestion/kita?lang=en", timeout=10)
    assert page.status_code == 200, page.text
    assert "how busy it is" in page.text and "People waiting" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert f"frame-ancestors {SITE}" in csp and "'none'" not in csp.split("frame-ancestors")[1]
    assert page.headers["Cache-Control"] == "public, max-age=30"
    assert page.headers["Vary"] == "Accept-Language"
    cached = requests.get(f"{server.url}/congestion/kita?lang=en", timeout=10,
                          headers={"If-None-Match": page.headers["ETag"]})
    assert cached.status_code == 304
    assert requests.get(server.api("/public/congestion/nowhere"), timeout=10).status_code == 404
    assert requests.get(f"{server.url}/congestion/nowhere", timeout=10).status_code == 404


def test_no_byte_of_a_resident_reaches_the_public_page(server: Any) -> None:
    ticket = ok(issue(server, application=APPLICATION, procedure="juminhyo"), 201)
    secrets = [APPLICATION["values"]["name"], APPLICATION["values"]["address"], "1980-01-02",
               ticket["status_token"], ticket["number"], ticket["status_url"]]
    bodies = [requests.get(server.api("/public/congestion/kita"), timeout=10).content]
    bodies += [requests.get(f"{server.url}/congestion/kita?lang={code}", timeout=10).content
               for code in LANGUAGE_CODES]
    for body in bodies:
        for secret in secrets:
            for encoding in ("utf-8", "unicode_escape"):
                assert secret.encode(encoding) not in body, secret


def test_every_public_endpoint_shares_one_rate_limit(server: Any) -> None:
    ticket = ok(issue(server), 201)
    codes = []
    for i in range(LIMIT + 5):
        url = (server.api("/public/congestion/kita") if i % 3 == 0 else
               server.api(f"/status/{ticket['status_token']}") if i % 3 == 1 else
               server.api("/wards/kita/estimates"))
        codes.append(requests.get(url, timeout=10))
    limited = [r for r in codes if r.status_code == 429]
    assert limited and len(codes) - len(limited) <= LIMIT
    assert limited[0].json()["error"] == "rate_limited"
    assert limited[0].headers["Retry-After"] == "60"
    page = requests.get(f"{server.url}/congestion/kita", timeout=10)
    assert page.status_code == 429 and "no-store" in page.headers["Cache-Control"]


def test_every_word_of_the_pages_is_in_the_seven_catalogs() -> None:
    """The congestion and booking pages' words (tr("…"), {{…}} in templates, tables)."""
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    from kiosk.backoffice.web import booking_page, congestion_page
    from kiosk.i18n import LOCALE_DIR

    used: set[str] = set()
    for module, template in ((congestion_page, "congestion.html"),
                             (booking_page, "booking.html")):
        path = Path(str(module.__file__))
        used |= set(re.findall(r'tr\("([^"]+)"', path.read_text(encoding="utf-8")))
        used |= set(re.findall(r"\{\{(.+?)\}\}", (path.parent / "templates" / template)
                               .read_text(encoding="utf-8")))
    used |= set(congestion_page.LEVEL_WORDS.values()) | set(congestion_page.WEEKDAYS)
    used |= {congestion_page.HISTORY_TEXT, booking_page.OTHER_ERROR, booking_page.BUSY,
             booking_page.CONTACT_HINT, booking_page.MAIL_HINT, booking_page.AT_THE_KIOSK,
             *booking_page.ERRORS.values(), "予約中", "取り消し済み", "受付済み", "予約しました"}
    assert len(used) > 50
    for code in LANGUAGE_CODES:
        with (LOCALE_DIR / code / "LC_MESSAGES" / "web.po").open("rb") as fh:
            catalog = {m.id: m.string for m in read_po(fh) if m.id}
        assert not sorted(u for u in used if not catalog.get(u)), code
