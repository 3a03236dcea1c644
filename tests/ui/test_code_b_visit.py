"""The PIN-less way on the real Kivy app with the stand-in card through a private pcscd +
vpcd: a card without a PIN and a card whose PIN is blocked both complete a visit with
照合番号B; a wrong code says so with the tries left; the last two tries are never spent."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain.application import CardKey
from kiosk.domain.session import PayMethod, Step
from kiosk.ui.adapters import CardReaderAdapter
from tests.support.screen import buttons, text_contrast

pytestmark = [pytest.mark.kivy, pytest.mark.pcsc]

KAO = ("令和", "020224", "2030", "7305")          # hardware/card/profiles/kao.toml
BLOCKED = ("昭和", "270811", "2033", "1592")      # hardware/card/profiles/pin_blocked.toml


@pytest.fixture
def real_card(kiosk: Any, card_slot: Any) -> Iterator[Any]:
    from kiosk.card.pcsc import PcscCardReader

    reader = PcscCardReader(card_slot.reader)
    kiosk.app.controller.reader = CardReaderAdapter(reader)
    kiosk.card_slot = card_slot
    yield kiosk
    kiosk.app.controller.end_visit()
    reader.close()


def to_code_b(k: Any, profile: str, procedure: str = "juminhyo", **card: Any) -> Any:
    inserted = k.card_slot.insert(profile, **card)
    k.tap("start")
    k.tap("choose_procedure", procedure)
    k.tap("choose_card")
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.PIN, k.s.notice
    assert k.s.tries_left == 0          # no PIN / blocked: the pad is off ...
    k.tap("choose_code_b")              # ... the PIN-less way is beside it
    k.h.settle()
    assert k.s.step is Step.CODE_B, k.s.notice
    return inserted


def type_code_b(k: Any, era: str, birth: str, expiry: str, security: str) -> None:
    k.tap("code_b_era", era)
    for part, digits in (("year", birth[:2]), ("month", birth[2:4]), ("day", birth[4:]),
                         ("expiry", expiry), ("security", security)):
        k.tap("code_b_focus", part)
        k.h.keys(digits)
    k.tap("take_code_b")


def finish(k: Any) -> None:
    k.tap("confirm")
    if k.s.step is Step.PAYMENT:
        k.tap("choose_payment", PayMethod.COUNTER)
    assert k.s.step is Step.TICKET, k.s.notice


def test_pinless_card_completes_a_visit(real_card: Any, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    k = real_card
    card = to_code_b(k, "kao")
    assert k.s.code_b_tries == 10
    k.tap("code_b_era", KAO[0])
    k.h.keys("020224")
    k.h.keys("2030")
    k.h.keys("73")
    shot = k.h.screenshot(tmp_path / "code_b.png", 0.5, colors=96)
    out = os.environ.get("CODE_B_SCREENSHOT_DIR")
    if out:   # docs/screens/kiosk-code-b.png is made this way
        k.h.screenshot(Path(out) / "kiosk-code-b.png", 0.5, colors=96)
    assert shot.stat().st_size > 10_000
    assert "●●" in k.labels() and "7305" not in " ".join(k.labels())  # code as dots
    k.tap("back")                                    # 戻る: to the PIN pad, code forgotten
    assert k.s.step is Step.PIN and k.s.code_b.empty
    k.tap("choose_code_b")
    type_code_b(k, *KAO)
    assert k.s.step is Step.CONFIRM, k.s.notice
    assert "佐藤\u3000花子" in k.labels()
    assert k.app.controller.card is None            # read, then unpowered at once
    assert k.s.application().card_key is CardKey.CODE_B
    finish(k)
    log = card.apdu_log()
    assert "A4 02 0C 02 00 01" not in log          # the number file never selected
    assert "37 33 30 35" not in log and "7305" not in log
    assert "7305" not in caplog.text and "020224" not in caplog.text   # no log has it
    k.app.controller.end_visit()
    assert k.s.code_b.empty and not k.s.has_personal_data


def test_pin_blocked_card_completes_a_visit_via_code_b(real_card: Any) -> None:
    k = real_card
    to_code_b(k, "pin_blocked")
    type_code_b(k, *BLOCKED)
    assert k.s.step is Step.CONFIRM, k.s.notice
    assert "田中\u3000一郎" in k.labels()
    finish(k)


def test_wrong_code_b_shows_the_tries_left_and_never_spends_the_last_two(
        real_card: Any) -> None:
    k = real_card
    card = to_code_b(k, "kao", code_b_tries=4)
    type_code_b(k, "令和", "020224", "2030", "1111")
    assert k.s.step is Step.CODE_B
    shown = " ".join(k.labels())
    assert "残り3回です" in shown and "違います" in shown
    type_code_b(k, "令和", "020224", "2030", "2222")
    assert k.s.code_b_locked and "残り回数が少ない" in " ".join(k.labels())
    for action in (("code_b_press", "1"), ("take_code_b",)):   # the pad and 決定 are off
        with pytest.raises(LookupError):
            k.tap(*action)
    verifies = [line for line in card.apdu_log().splitlines() if "00 20 00 80 0E" in line]
    assert len(verifies) == 2                        # 2 of the card's 4 tries stay
    k.tap("ask_staff")
    assert k.s.step in (Step.ISSUING, Step.TICKET)


def test_number_form_goes_on_without_the_number(real_card: Any) -> None:
    k = real_card
    to_code_b(k, "kao", procedure="jidoteate")
    type_code_b(k, *KAO)
    assert k.s.step is Step.CONFIRM
    assert "窓口でご確認ください" in " ".join(k.labels())
    assert "my_number_at_counter" in k.s.application().notes


# -- the accessibility figures on the new screen (in-process stand-in card: fast) ---------

def to_code_b_in_process(k: Any, *options: str) -> None:
    from devtools.standins import StandInCard
    from tests.ui.test_visits import place, to_card

    for option in options:
        k.tap("toggle", option)
    to_card(k)
    place(k, StandInCard(tries=0))
    k.tap("choose_code_b")
    k.h.settle()
    assert k.s.step is Step.CODE_B and k.s.code_b_tries == 10


def controls(k: Any) -> list[Any]:
    return buttons(k.h.widgets())


@pytest.mark.parametrize("option", ["", "large_text"])
def test_code_b_touch_targets_are_at_least_15_mm(kiosk: Any, option: str) -> None:
    k = kiosk
    to_code_b_in_process(k, *([option] if option else []))
    minimum = k.app.cfg.target_px - 0.5
    seen = controls(k)
    assert len(seen) >= 20
    for w in seen:
        assert w.width >= minimum and w.height >= minimum, (w.action, w.size)


def test_code_b_low_reach_keeps_controls_in_the_lower_two_thirds(kiosk: Any) -> None:
    k = kiosk
    to_code_b_in_process(k, "low_reach")
    top = k.h.window.height * 2 / 3
    for w in controls(k):
        _x, y = w.to_window(w.x, w.top)
        assert y <= top + 1, w.action


def test_code_b_high_contrast_is_at_least_7_to_1(kiosk: Any) -> None:
    k = kiosk
    to_code_b_in_process(k, "high_contrast")
    k.tap("code_b_era", "昭和")
    k.h.keys("6")                       # the focused part shows a digit
    k.tap("code_b_focus", "security")
    k.h.keys("48")                      # and the code its dots
    img = k.h.pixels()
    checked = 0
    for w in controls(k):
        if not w.text:
            continue
        ratio = text_contrast(img, w)
        assert ratio >= 7, (w.action, ratio)
        checked += 1
    assert checked >= 15
