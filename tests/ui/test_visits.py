"""Whole resident visits on the real Kivy app, touched through the real widgets, with
the in-process stand-in card, printer and ticket desk (tests/ui/test_integration.py runs
the same against the real card stack and back-office when they are present)."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.standins import DEMO_HOLDER, StandInCard
from kiosk.domain.application import Identity
from kiosk.domain.session import EntryMode, PayMethod, Step, entry_mode, field_choices
from tests.support.screen import buttons, text_contrast

pytestmark = pytest.mark.kivy


def to_card(k: Any, procedure: str = "juminhyo") -> None:
    k.tap("start")
    k.tap("choose_procedure", procedure)
    k.tap("choose_card")
    assert k.s.step is Step.CARD


def place(k: Any, card: StandInCard) -> StandInCard:
    k.reader.place(card)
    # The app's own 0.25 s card watch may have a poll in flight that started before the
    # card was there: let it finish, then run one watch that surely sees the card.
    k.h.settle()
    k.app._tick()
    k.h.settle()
    return card


def ask_staff(k: Any, procedure: str) -> None:
    k.tap("start")
    k.tap("choose_procedure", procedure)
    k.tap("ask_staff")


def assert_ticket_on_screen_only(k: Any) -> None:
    """Not printed: the number and the reason are on the screen instead."""
    assert k.s.step is Step.TICKET and not k.s.ticket.printed
    assert k.s.ticket.number in k.labels()
    assert any("印刷できませんでした" in t for t in k.labels())


def finish(k: Any) -> None:
    """終わる on the ticket screen, then the thank-you screen's time passes: welcome."""
    k.tap("finish")
    assert k.s.step is Step.THANKS
    k.clock.offset += k.s.settings.thanks_s + 1
    k.h.pump(2)
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.WELCOME and not k.s.has_personal_data


def type_pin(k: Any, pin: str) -> None:
    for d in pin:
        k.tap("pin_press", d)
    assert "●" * len(pin) in k.labels()  # dots, never digits
    assert not any(pin in t for t in k.labels())
    k.tap("take_pin")


def test_card_visit_for_juminhyo_in_few_touches(kiosk: Any) -> None:
    k = kiosk
    to_card(k)
    card = place(k, StandInCard())
    assert k.s.step is Step.PIN
    type_pin(k, "1234")
    assert k.s.step is Step.CONFIRM
    assert DEMO_HOLDER["name"] in k.labels()
    assert not card.powered  # unpowered as soon as the card is read
    k.tap("confirm")
    assert k.s.step is Step.PAYMENT
    k.tap("choose_payment", PayMethod.COUNTER)
    assert k.s.step is Step.TICKET
    touches_without_pin = k.s.visit_touches - 5  # 4 digits + 決定
    assert touches_without_pin <= 8
    app = k.desk.issued[-1]
    assert app.identity is Identity.CARD and app.values["name"] == DEMO_HOLDER["name"]
    assert "A-001" in k.labels() and k.printer.printed == ["A-001"]
    finish(k)
    assert k.s.wipes[-1][0].value == "end"


def test_wrong_pin_then_last_try_is_never_sent(kiosk: Any) -> None:
    k = kiosk
    to_card(k)
    card = place(k, StandInCard(tries=2))
    type_pin(k, "9999")
    assert card.tries == 1 and card.verify_calls == 1
    assert k.s.pin_locked
    assert any("1回以下" in t for t in k.labels())
    with pytest.raises(LookupError):
        k.tap("pin_press", "1")  # the pad is disabled
    with pytest.raises(LookupError):
        k.tap("take_pin")
    assert card.verify_calls == 1 and card.tries == 1
    k.tap("choose_no_card")
    assert k.s.step is Step.ENTRY and not card.powered


def test_no_card_visit_typed_on_the_kana_keyboard(kiosk: Any) -> None:
    k = kiosk
    k.tap("start")
    k.tap("choose_procedure", "juminhyo")
    k.tap("choose_no_card")
    for ch in "さかい":
        k.tap("entry_press", ch)
    k.tap("entry_press", "\u3000")
    for ch in "はなこ":
        k.tap("entry_press", ch)
    k.tap("entry_press", "は")
    k.tap("entry_press", "゜")  # は → ぱ
    k.tap("entry_back")
    k.tap("entry_done")
    for ch in "さかいし":
        k.tap("entry_press", ch)
    k.tap("entry_done")
    for ch in "19850307":
        k.tap("entry_press", ch)
    k.tap("entry_done")
    assert k.s.step is Step.CONFIRM
    k.tap("set_count", "copies", 1)
    k.tap("confirm")
    k.tap("choose_payment", PayMethod.COUNTER)
    assert k.s.step is Step.TICKET
    app = k.desk.issued[-1]
    assert app.identity is Identity.TYPED
    assert app.values["name"] == "さかい\u3000はなこ" and app.values["copies"] == 2


def test_ask_staff_issues_an_assistance_ticket(kiosk: Any) -> None:
    k = kiosk
    ask_staff(k, "tennyu")
    assert k.s.step is Step.TICKET
    assert k.s.ticket.assistance and k.s.ticket.number.startswith("B-")  # 転入: moving
    assert any("職員がお手伝いします" in t for t in k.labels())


def test_printer_out_of_paper_shows_the_ticket_on_screen(kiosk: Any) -> None:
    k = kiosk
    k.printer.paper = False
    ask_staff(k, "koseki")
    assert_ticket_on_screen_only(k)


def test_offline_ticket_says_the_wait_is_unknown(kiosk: Any) -> None:
    k = kiosk
    k.desk.online = False
    ask_staff(k, "inkan")
    assert k.s.ticket.offline and k.s.ticket.wait_minutes is None
    assert any("お知らせできません" in t for t in k.labels())


def test_desk_failure_sends_the_resident_to_staff(kiosk: Any) -> None:
    k = kiosk
    k.desk.fail = True
    ask_staff(k, "inkan")
    assert k.s.step is Step.IDENTITY
    assert any("職員をお呼びください" in t for t in k.labels())


def test_timeout_mid_visit_wipes_data_and_unpowers_the_card(kiosk: Any) -> None:
    k = kiosk
    to_card(k)
    card = place(k, StandInCard())
    type_pin(k, "1234")
    assert k.s.step is Step.CONFIRM and card.verified is False  # read, then unpowered
    k.reader.remove()
    k.tap("back")
    k.tap("choose_card")
    card = place(k, StandInCard())
    assert k.app.controller.card is card and card.powered
    k.tap("pin_press", "1")
    limit = k.s.settings.idle_timeout_s
    k.clock.offset += limit - 5
    k.app._tick()
    k.h.pump()
    assert any(ch.isdigit() for ch in k.app.countdown_text)
    k.clock.offset += 6
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.WELCOME and k.s.wipes[-1][0].value == "timeout"
    assert not k.s.has_personal_data and not card.powered
    shown = [str(getattr(w, "text", "")) for scr in k.app.root.ids.sm.screens
             for w in scr.walk()]
    assert not any(DEMO_HOLDER["name"] in t for t in shown)


def test_language_switch_mid_visit_keeps_the_state(kiosk: Any) -> None:
    k = kiosk
    to_card(k)
    place(k, StandInCard())
    type_pin(k, "1234")
    k.tap("set_count", "copies", 1)
    k.tap("languages")
    k.tap("set_language", "en")
    assert k.s.step is Step.CONFIRM and k.s.values["copies"] == 2 and k.s.language == "en"
    assert DEMO_HOLDER["name"] in k.labels()
    k.tap("languages")
    k.tap("set_language", "ja")



def test_a_value_typed_on_confirm_is_shown_as_personal_data(kiosk: Any) -> None:
    """Confirm rows are kept between refreshes; a field empty when they were built and
    typed in afterwards (本籍 for a 戸籍 certificate, in Korean) must still be shown as
    the resident's data — in the Japanese font, not the screen language's."""
    k = kiosk
    k.tap("set_language", "ko")
    to_card(k, "koseki")
    place(k, StandInCard())
    type_pin(k, "1234")
    assert k.s.step is Step.CONFIRM
    before = k.app.root.ids.sm.get_screen("confirm")._values["honseki"]
    assert before.font_name != "BIZUD"  # 「未入力」 in Korean
    k.tap("edit", "honseki")
    for ch in "きた":
        k.tap("entry_press", ch)
    k.tap("entry_done")
    assert k.s.step is Step.CONFIRM and k.s.values["honseki"] == "きた"
    label = k.app.root.ids.sm.get_screen("confirm")._values["honseki"]
    assert label.text == "きた" and label.font_name == "BIZUD"
    k.app.act("cancel")
    k.h.settle()

def test_touch_targets_are_at_least_15_mm(kiosk: Any) -> None:
    k = kiosk
    minimum = k.app.cfg.target_px - 0.5
    seen = 0

    def check() -> None:
        nonlocal seen
        for w in buttons(k.h.widgets()):
            assert w.width >= minimum and w.height >= minimum, (k.s.step, w.action, w.size)
            seen += 1

    for mode in ((), ("large_text",), ("low_reach",)):
        for option in mode:
            k.tap("toggle", option)
        check()
        k.tap("start")
        check()
        k.tap("choose_procedure", "juminhyo")
        check()
        k.tap("choose_no_card")
        check()  # kana keyboard
        k.app.act("cancel")
        k.h.settle()
    assert seen > 100


def test_low_reach_puts_every_control_in_the_lower_two_thirds(kiosk: Any) -> None:
    k = kiosk
    k.tap("toggle", "low_reach")
    k.tap("start")
    for step in ("procedure", "identity", "entry"):
        top = k.h.window.height * 2 / 3
        for w in buttons(k.h.widgets()):
            _x, y = w.to_window(w.x, w.top)
            assert y <= top + 1, (step, w.action)
        if step == "procedure":
            k.tap("choose_procedure", "juminhyo")
        elif step == "identity":
            k.tap("choose_no_card")


def test_high_contrast_is_at_least_7_to_1_on_screen(kiosk: Any) -> None:
    k = kiosk
    k.tap("toggle", "high_contrast")
    checked = 0
    for i in range(2):
        img = k.h.pixels()
        for w in buttons(k.h.widgets()):
            if not w.text:
                continue
            ratio = text_contrast(img, w)
            assert ratio >= 7, (w.action, ratio)
            checked += 1
        if i == 0:
            k.tap("start")
    assert checked >= 10


def test_voice_guidance_and_chimes(kiosk: Any) -> None:
    k = kiosk
    played = k.app.sound.played
    played.clear()
    k.tap("toggle", "voice")
    ask_staff(k, "inkan")
    assert "success" in played                     # the chime; what is said: test_voice.py
    said = " ".join(k.app.guidance.voice.texts())
    assert "ご用件をお選びください" in said and k.s.ticket.number in said


class FakeCashless:
    """A payment plug-in that pays when its button is touched (the seam, not the provider;
    the payment package's own widget is tested in tests/payment)."""

    def __init__(self) -> None:
        self.started: list[tuple[int, str]] = []

    def start(self, amount_yen: int, reference: str, done: Any,
              method: str | None = None) -> Any:
        from kiosk.ui.widgets import KButton
        self.started.append((amount_yen, reference, method))
        b = KButton(text="pay", action=["fake_pay"])
        b.bind(on_release=lambda _b: done(True))
        return b

    def cancel(self) -> None:
        pass


def test_cashless_seam_after_the_ticket(kiosk: Any) -> None:
    import dataclasses
    k = kiosk
    c = k.app.controller
    settings = c.session.settings
    c.session.settings = dataclasses.replace(settings, cashless=True)
    k.app.payment = FakeCashless()
    try:
        to_card(k)
        place(k, StandInCard())
        type_pin(k, "1234")
        k.tap("confirm")
        k.tap("choose_payment", PayMethod.CODE)  # the one choice: QR / terminal / counter
        assert k.s.step is Step.CASHLESS and k.s.ticket is not None  # ticket first
        k.tap("fake_pay")
        assert k.s.step is Step.TICKET and k.s.paid
        assert k.app.payment.started == [(300, f"kiosk:{k.s.ticket.number}", "code")]
    finally:
        c.session.settings = settings
        k.app.payment = None


def test_every_procedure_with_a_card_in_every_language(kiosk: Any) -> None:
    """Every catalog procedure of the ward in ja, en and vi, two (the simplest and the
    longest form) in the other languages, through the real screens (actions sent as the
    buttons send them; one frame drawn per visit to render every text)."""
    from kiosk.i18n import translator
    k = kiosk
    c = k.app.controller
    c.runner = lambda work, then: then(work())  # no worker thread: 70 visits quickly
    try:
        for lang in k.s.settings.languages:
            for p in k.s.procedures:
                if lang not in ("ja", "en", "vi") and p.code not in ("juminhyo", "tennyu"):
                    continue
                k.reader.place(StandInCard())
                k.app.act("set_language", lang)
                k.app.act("start")
                k.app.act("choose_procedure", p.code)
                k.app.act("choose_card")
                c.tick()
                for d in "1234":
                    k.app.act("pin_press", d)
                k.app.act("take_pin")
                assert k.s.step is Step.CONFIRM, (lang, p.code, k.s.notice)
                for f in k.s.missing():  # what the card cannot give: type or choose it
                    k.app.act("edit", f.key)
                    if entry_mode(f) is EntryMode.CHOICE:
                        k.app.act("entry_done", field_choices(f)[0][0])
                        continue
                    for ch in "20240401" if entry_mode(f) is EntryMode.DIGITS else "きた":
                        k.app.act("entry_press", ch)
                    k.app.act("entry_done")
                k.app.act("confirm")
                if k.s.step is Step.PAYMENT:
                    k.app.act("choose_payment", PayMethod.COUNTER)
                assert k.s.step is Step.TICKET, (lang, p.code, k.s.notice)
                k.h.pump()
                assert k.app.title_text == translator(lang)("番号札")
                assert k.desk.issued[-1].procedure == p.code
                k.app.act("cancel")
    finally:
        from kiosk.ui.kioskapp import thread_runner
        c.runner = thread_runner


def test_drawing_only_the_text_columns_changes_no_pixel(kiosk: Any) -> None:
    """Labels and buttons draw only the part of their text texture that holds text
    (TightText, for software GL): the screen must look exactly as with whole textures."""
    from kiosk.ui.widgets import TightText
    k = kiosk

    def same_as_whole_textures() -> None:
        tight = k.h.pixels()
        shown = [w for w in k.app.root.walk() if isinstance(w, TightText) and w.texture]
        kept = [(w, w.text_offset, w.text_region) for w in shown]
        for w in shown:
            w.text_offset, w.text_region = 0, w.texture
        whole = k.h.pixels()
        for w, offset, region in kept:
            w.text_offset, w.text_region = offset, region
        assert tight.tobytes() == whole.tobytes(), k.s.step
        assert any(r.width < w.texture.width for w, _o, r in kept)  # it did cut

    same_as_whole_textures()  # welcome: centred texts
    k.tap("toggle", "large_text")
    k.tap("start")
    same_as_whole_textures()  # procedure: icon buttons, markup
    k.tap("choose_procedure", "juminhyo")
    k.tap("choose_card")
    place(k, StandInCard())
    type_pin(k, "1234")
    same_as_whole_textures()  # confirm: left-aligned personal data
    k.tap("languages")
    k.tap("set_language", "vi")
    same_as_whole_textures()  # another font


def test_form_scroll_clips_only_while_its_rows_overflow(kiosk: Any) -> None:
    from kivy.graphics import StencilPush
    from kivy.uix.widget import Widget

    from kiosk.ui.widgets import FormScroll
    k = kiosk
    scroll = FormScroll(size_hint=(None, None), size=(400, 300), do_scroll_x=False)
    rows = Widget(size_hint_y=None, height=200)
    scroll.add_widget(rows)
    k.app.root.ids.sm.current_screen.add_widget(scroll)
    try:
        def stencils() -> int:
            k.h.pump()
            return sum(isinstance(i, StencilPush) for i in scroll.canvas.before.children)

        assert stencils() == 0  # fits: nothing to clip
        rows.height = 900
        assert stencils() == 1
        rows.height = 250
        assert stencils() == 0
        rows.height = 301
        assert stencils() == 1 and len(scroll.canvas.after.children) == 10
    finally:
        scroll.parent.remove_widget(scroll)


def test_the_benchmark_runs_quick(tmp_path: Any) -> None:
    """tests/bench/bench_kiosk.py --quick works and ends with its JSON line (figures are
    not asserted: timings belong to the bench)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1",
           "KIVY_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "tests/bench/bench_kiosk.py", "--quick"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=300,
                         check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["quick"] is True and figures["touches_juminhyo_card"] <= 8
    assert figures["screen_change_p95_ms"] > 0 and figures["visits"] == 200
