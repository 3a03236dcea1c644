"""Lobby announcement audio: the route through the real server (what it answers, what it
refuses, caching), and the announcer itself with the real voices (Open JTalk, espeak-ng,
sox). Who may call the route: tests/backoffice/test_access_matrix.py."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from kiosk.backoffice.announcements import (
    AnnouncementSettings,
    Announcer,
    call_texts,
    parse_number,
)
from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Section


def seconds(data: bytes, tmp_path: Path) -> float:
    path = tmp_path / "call.ogg"
    path.write_bytes(data)
    return float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True,
                                check=True).stdout)


def test_the_display_gets_the_call_as_ogg_and_bad_input_is_a_clear_4xx(
        backoffice: Any, tmp_path: Path) -> None:
    display = backoffice.session("display")
    url = backoffice.api("/wards/kita/announcements/A-012")
    r = display.get(url, params={"counter": 3}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/ogg" and r.content[:4] == b"OggS"
    assert "private" in r.headers["cache-control"]
    assert seconds(r.content, tmp_path) > 4.0               # Japanese, then English
    again = display.get(backoffice.api("/wards/kita/announcements/a012"),
                        params={"counter": 3}, timeout=60)
    assert again.content == r.content                       # the same call, from the cache
    for path, params, status in (
            ("/wards/kita/announcements/A-012", {"counter": 99}, 404),   # no such counter
            ("/wards/kita/announcements/A-012", {}, 422),                # counter missing
            ("/wards/kita/announcements/Q-012", {"counter": 3}, 422),    # not a kita prefix
            ("/wards/kita/announcements/A-12345", {"counter": 3}, 422),
            ("/wards/kita/announcements/" + "A" * 40, {"counter": 3}, 422),
            ("/wards/nowhere/announcements/A-012", {"counter": 3}, 404)):
        bad = display.get(backoffice.api(path), params=params, timeout=30)
        assert bad.status_code == status, (path, params, bad.text)
        assert bad.headers["content-type"].startswith("application/json")


def test_announcements_off_answers_503(backoffice_factory: Any) -> None:
    server = backoffice_factory.start(config={"announcements": {"device": "none"}})
    r = server.session("display").get(server.api("/wards/kita/announcements/A-001"),
                                      params={"counter": 1}, timeout=30)
    assert r.status_code == 503 and r.json()["error"] == "announcements_off", r.text


def test_words_of_a_call_in_every_language() -> None:
    codes = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi", "pt")
    texts = dict(call_texts("A", 12, 3, codes))
    assert texts["ja"] == "受付番号 A の 12 番の方、3 番窓口へお越しください"
    assert texts["en"] == "Ticket number A 12, please come to counter 3."
    assert len(set(texts.values())) == len(codes)            # each really translated
    assert all("12" in t and "3" in t for t in texts.values())
    assert parse_number("A-012") == ("A", 12) and parse_number("B7") == ("B", 7)
    assert parse_number("A-0x1") is None and parse_number("山田") is None


def test_a_wards_languages_and_the_cache(tmp_path: Path) -> None:
    settings = AnnouncementSettings.from_section(Section(
        {"languages": ["ja", "en"], "cache_entries": 2,
         "wards": {"kita": ["ja", "en", "zh-Hans", "ko", "vi", "pt"]}}, "backoffice.toml"))
    assert settings.for_ward("naka") == ("ja", "en")
    a = Announcer(settings)
    six = a.audio("A", 1, 1, settings.for_ward("kita"))
    two = a.audio("A", 1, 1, settings.for_ward("naka"))
    assert seconds(six, tmp_path) > seconds(two, tmp_path) + 4   # four more languages
    assert a.audio("A", 1, 1, settings.for_ward("kita")) is six and a.made == 2
    a.audio("A", 2, 1, ("ja",))                   # a third: the least recently used goes
    assert a.audio("A", 1, 1, settings.for_ward("kita")) is six and a.made == 3
    a.audio("A", 1, 1, settings.for_ward("naka"))
    assert a.made == 4


@pytest.mark.parametrize("bad", [{"languages": ["en", "ja"]}, {"languages": ["ja", "xx"]},
                                 {"languages": []}, {"device": "cloud"}, {"speed": 3},
                                 {"wards": {"kita": ["ja", "ja"]}}, {"voice": "mei"}])
def test_bad_settings_name_the_key(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        AnnouncementSettings.from_section(Section(bad, "backoffice.toml"))
