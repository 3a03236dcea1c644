"""Voice guidance on the real Kivy app: what is on the screen is said (the stand-in voice
records it), a form's fields on request, errors at once; and the real offline voice
(Open JTalk / espeak-ng) keeps a visit's audio only until the visit ends."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.standins import StandInCard
from kiosk.domain.session import PayMethod, Step
from tests.ui.test_visits import ask_staff, place, to_card, type_pin

pytestmark = pytest.mark.kivy


def said(k: Any) -> list[tuple[str, str]]:
    return list(k.app.guidance.voice.spoken)


def test_each_screen_is_said_in_order_ticket_number_and_wait_included(kiosk: Any) -> None:
    k = kiosk
    k.tap("toggle", "voice")
    ask_staff(k, "juminhyo")
    assert k.s.step is Step.TICKET
    texts = [text for _lang, text in said(k)]
    procedure = next(i for i, t in enumerate(texts) if t.startswith("ご用件をお選びください"))
    ticket = texts[-1]
    assert procedure < len(texts) - 1
    assert ticket.startswith("番号札") and k.s.ticket.number in ticket
    assert "待ち時間の目安" in ticket or "お知らせできません" in ticket
    assert all(lang == "ja" for lang, _t in said(k))


def test_the_residents_language_is_spoken_and_switching_says_the_screen_again(
        kiosk: Any) -> None:
    k = kiosk
    k.tap("toggle", "voice")
    k.tap("start")
    k.app.act("set_language", "vi")
    k.h.settle()
    lang, text = said(k)[-1]
    assert lang == "vi" and text == "\n".join(k.app.screen(Step.PROCEDURE).spoken(k.app, k.s))


def test_silent_unless_voice_guidance_is_on(kiosk: Any) -> None:
    k = kiosk
    ask_staff(k, "juminhyo")
    assert said(k) == []


def test_read_aloud_says_the_forms_fields_and_the_visits_end_forgets(kiosk: Any) -> None:
    k = kiosk
    k.tap("toggle", "voice")
    to_card(k)
    place(k, StandInCard())
    type_pin(k, "1234")
    assert k.s.step is Step.CONFIRM
    before = len(said(k))
    assert not any(k.s.values["name"] in t for _l, t in said(k))   # only on request
    assert "手数料 300円" in said(k)[-1][1]                        # the fee: on arrival
    k.tap("read_aloud")
    lang, text = said(k)[-1]
    assert len(said(k)) == before + 1 and lang == "ja"
    name = k.s.values["name"]
    assert text.startswith("内容の確認") and "氏名\n" + name in text
    voice = k.app.guidance.voice
    k.tap("cancel")
    assert voice.spoken == [] and any(name in t for _l, t in voice.last_visit)


def test_a_new_error_is_said_at_once(kiosk: Any) -> None:
    k = kiosk
    k.tap("toggle", "voice")
    to_card(k)
    place(k, StandInCard(tries=3))
    type_pin(k, "9999")
    assert k.s.step is Step.PIN and k.s.notice is not None and k.s.notice.error
    notice = k.app.screen(Step.PIN).notice_text(k.app, k.s)
    assert any(notice in t for _l, t in said(k))


class Played:
    def __init__(self) -> None:
        self.paths: list[Path] = []

    def __call__(self, path: Path) -> Any:
        self.paths.append(path)
        return lambda: None


def test_offline_voice_makes_audio_per_visit_and_wipes_it_at_the_end(
        kiosk: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The real voice (Open JTalk, espeak-ng) in the app; only playing is left out."""
    from kiosk.speech import OfflineVoice
    k = kiosk
    played = Played()
    voice = OfflineVoice(play=played)
    k.app.guidance.voice = voice
    caplog.set_level(logging.DEBUG)
    try:
        k.tap("toggle", "voice")
        to_card(k)
        place(k, StandInCard())
        type_pin(k, "1234")
        name = k.s.values["name"]
        k.tap("read_aloud")                      # the resident's name and address, spoken
        wav = voice.speak_now("山田 太郎 様", "ja")
        english = voice.speak_now("Your name is Yamada Taro", "en")
        folder = voice.session_dir
        assert folder is not None and wav.parent == folder == english.parent
        assert wav.stat().st_size > 10_000 and english.stat().st_size > 10_000
        assert (folder.stat().st_mode & 0o777) == 0o700
        k.tap("confirm")
        k.tap("choose_payment", PayMethod.COUNTER)
        assert k.s.step is Step.TICKET
        k.tap("cancel")                          # the visit ends: its audio goes with it
        assert voice.session_dir is None
        # A synthesis still running when the visit ended writes into the folder after
        # end_session's rmtree (the end never waits for it); its thread then removes the
        # folder as soon as that synthesis returns (_forget_if_ended).
        deadline = time.monotonic() + 10
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not folder.exists()
        assert all(not p.exists() for p in played.paths)
        log_text = "\n".join(r.getMessage() for r in caplog.records)
        assert "山田" not in log_text and "Yamada" not in log_text and name not in log_text
    finally:
        voice.close()
