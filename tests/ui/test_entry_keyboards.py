"""Without a card: a name typed as on the 在留カード (Latin capitals), in katakana, and an
address with digits, on the real Kivy app; the keyboards keep the kiosk's accessibility
figures (15 mm targets, 7:1 contrast in high contrast, controls in the lower two thirds
in the low-reach layout)."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.domain.application import Identity
from kiosk.domain.session import EntryMode, PayMethod, Step
from tests.support.screen import buttons, text_contrast

pytestmark = pytest.mark.kivy


def to_name(k: Any, *options: str) -> None:
    for option in options:
        k.tap("toggle", option)
    k.tap("start")
    k.tap("choose_procedure", "juminhyo")
    k.tap("choose_no_card")
    assert k.s.step is Step.ENTRY and k.s.entry_key == "name"


def test_a_name_as_on_the_residence_card_then_katakana_and_an_address(kiosk: Any) -> None:
    k = kiosk
    to_name(k)
    k.tap("choose_keyboard", "latin")
    assert k.s.keyboard is EntryMode.LATIN
    k.h.keys("NGUYEN, VAN AN")
    assert k.s.entry_text == "NGUYEN, VAN AN"
    assert "在留カードのとおり、ローマ字の大文字で入力してください" in k.labels()
    k.tap("entry_done")
    assert k.s.entry_key == "address" and k.s.keyboard is EntryMode.LATIN  # kept
    k.tap("choose_keyboard", "katakana")
    k.h.keys("キタク")
    k.tap("entry_press", "゛")               # ク → グ: katakana stays katakana
    assert k.s.entry_text == "キタグ"
    k.tap("entry_back")
    k.tap("choose_keyboard", "kana")
    k.h.keys("まち1－2－3")
    k.tap("entry_done")
    k.h.keys("19900101")
    k.tap("entry_done")
    assert k.s.step is Step.CONFIRM
    k.tap("confirm")
    k.tap("choose_payment", PayMethod.COUNTER)
    app = k.desk.issued[-1]
    assert app.identity is Identity.TYPED
    assert app.values["name"] == "NGUYEN, VAN AN"
    assert app.values["address"] == "キタまち1－2－3"


def test_no_keyboard_choice_on_a_date(kiosk: Any) -> None:
    k = kiosk
    to_name(k)
    k.h.keys("たろう")
    k.tap("entry_done")
    k.h.keys("きた")
    k.tap("entry_done")
    assert k.s.entry_key == "birth_date"
    with pytest.raises(LookupError):
        k.tap("choose_keyboard", "latin")


@pytest.mark.parametrize("board", ["kana", "katakana", "latin"])
@pytest.mark.parametrize("option", ["", "large_text"])
def test_keyboard_targets_are_at_least_15_mm(kiosk: Any, board: str, option: str) -> None:
    k = kiosk
    to_name(k, *([option] if option else []))
    k.tap("choose_keyboard", board)
    minimum = k.app.cfg.target_px - 0.5
    seen = buttons(k.h.widgets())
    assert len(seen) >= 40
    for w in seen:
        assert w.width >= minimum and w.height >= minimum, (w.action, w.size)


@pytest.mark.parametrize("board", ["kana", "katakana", "latin"])
def test_low_reach_keeps_the_keyboards_in_the_lower_two_thirds(kiosk: Any, board: str) -> None:
    k = kiosk
    to_name(k, "low_reach")
    k.tap("choose_keyboard", board)
    top = k.h.window.height * 2 / 3
    footer = k.app.root.ids.footer
    floor = footer.to_window(footer.x, footer.top)[1]
    minimum = k.app.cfg.target_px - 0.5
    for w in buttons(k.h.widgets()):
        _x, y = w.to_window(w.x, w.top)
        assert y <= top + 1, w.action
        assert w.height >= minimum, (w.action, w.size)
        if w.action[0] == "entry_press":   # every key above the footer, none under it
            assert w.to_window(w.x, w.y)[1] >= floor - 1, (w.action, w.y, floor)


@pytest.mark.parametrize("board", ["katakana", "latin"])
def test_high_contrast_keyboards_are_at_least_7_to_1(kiosk: Any, board: str) -> None:
    k = kiosk
    to_name(k, "high_contrast")
    k.tap("choose_keyboard", board)
    img = k.h.pixels()
    checked = 0
    for w in buttons(k.h.widgets()):
        if not w.text.strip():
            continue
        assert text_contrast(img, w) >= 7, w.action
        checked += 1
    assert checked >= 30


def test_an_address_is_helped_by_the_wards_street_list(kiosk: Any) -> None:
    k = kiosk
    to_name(k, "low_reach")
    k.h.keys("たろう")
    k.tap("entry_done")
    assert k.s.entry_key == "address"
    k.h.keys("きたくち")                       # the reading's start: 中央一丁目 and 二丁目
    shown = [w.action[1] for w in buttons(k.h.widgets()) if w.action[0] == "entry_pick"]
    assert list(dict.fromkeys(shown)) == ["北区中央一丁目", "北区中央二丁目"]
    minimum = k.app.cfg.target_px - 0.5
    for w in buttons(k.h.widgets()):
        _x, y = w.to_window(w.x, w.top)
        assert y <= k.h.window.height * 2 / 3 + 1 and w.height >= minimum, w.action
    k.tap("entry_pick", "北区中央二丁目")
    assert k.s.entry_text == "北区中央二丁目"
    assert not [w for w in buttons(k.h.widgets()) if w.action[0] == "entry_pick"]
    k.h.keys("3－4")
    k.tap("entry_done")
    assert k.s.values["address"] == "北区中央二丁目3－4"
