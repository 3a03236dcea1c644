"""Check-in of a booking (予約の方, issue #19) on the real Kivy app (offscreen GL, touched
through the widgets) against a real back-office (SQLite) through the kiosk's link
(kiosk.sync.KioskLink → LinkDesk), with the 2D scanner stand-in read in the background:
a booking made through the public API, its QR picture put in front of the stand-in, the
ticket shown and printed; the code typed on the on-screen keyboard; every refusal in
words (unknown, too early — from when —, wrong ward, missed, the back-office down) and
the walk-in ticket offered; nothing lost while offline.

KIOSK_UPDATE_SCREENS=1 also writes docs/screens/kiosk/{default,en}/26-29-*.png (as the
walkthrough does: half size, 96 colours; scripts/kiosk_screens runs it)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from devtools.standins import DEMO_HOLDER, StandInCard
from kiosk.domain import checkin
from kiosk.domain.session import Step
from tests.support.booking import book, bring_to, qr_png, take_place
from tests.ui.test_life_event import ANSWERS
from tests.ui.test_visits import place, type_pin

pytestmark = [pytest.mark.kivy, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screens" / "kiosk"
MORE_BOOKINGS = {"appointments": {"max_per_address": 50}}   # every booking from 127.0.0.1


@pytest.fixture
def booked(kiosk: Any, backoffice_factory: Any, tmp_path: Path) -> Iterator[Any]:
    from devtools.standins import InProcessPrinter
    from hardware.scanner.standin import StandinScanner
    from kiosk.sync import KioskLink
    from kiosk.ui.adapters import LinkDesk
    from tests.sync.helpers import settings

    bo = backoffice_factory.start(config=MORE_BOOKINGS)
    link = KioskLink(settings(tmp_path, bo.url, token=bo.kiosk_token, issue_timeout=2.0))
    link.start()
    c = kiosk.app.controller
    c.desk, c.printer = LinkDesk(link), InProcessPrinter()
    kiosk.printer = c.printer
    kiosk.backoffice, kiosk.link = bo, link
    kiosk.scanner = StandinScanner(tmp_path / "scanner-window")
    kiosk.app.use_scanner(kiosk.scanner)   # read on its own thread, as in the product
    kiosk.qr = lambda code: qr_png(code, tmp_path / f"{code}.png")
    yield kiosk
    kiosk.app.use_scanner(None)
    c.end_visit()
    link.stop()


def until(k: Any, done: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Frames until `done` (the scan arrives on its own thread, then the check-in runs)."""
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, f"timed out waiting for {what} ({k.s.step})"
        time.sleep(0.02)
        k.h.pump()
    k.h.settle()


def scan(k: Any, code: str) -> None:
    """Hold the booking's QR up to the scanner; wait for the kiosk's answer."""
    seen = k.s.notice
    k.scanner.present(k.qr(code))
    until(k, lambda: not k.app.controller.busy and k.s.step not in (Step.WELCOME, Step.ISSUING)
          and (k.s.step is not Step.CHECK_IN or k.s.notice is not seen),
          "the check-in's answer")


def said(k: Any, why: checkin.Refusal) -> str:
    """The refusal's words as the screen shows them (in the resident's language)."""
    text = str(k.app.root.ids.sm.current_screen.ids.notice.text)
    words = k.app.tr(why.msgid, **dict(k.s.notice.params))
    assert text == words and text, (text, k.s.notice)
    return text


def shot(k: Any, name: str) -> None:
    if os.environ.get("KIOSK_UPDATE_SCREENS") == "1":
        folder = DOCS / ("en" if k.s.language == "en" else "default")
        k.h.screenshot(folder / f"{name}.png", 0.5, colors=96)


def staff_view(bo: Any) -> dict[str, str]:
    """The ward's day of bookings as its staff see it: code → status."""
    day = date.today().isoformat()
    r = bo.session("staff").get(bo.api(f"/wards/kita/appointments?day={day}"), timeout=30)
    assert r.status_code == 200, r.text
    return {a["code"]: a["status"] for a in r.json()["appointments"]}


def test_a_scanned_booking_gets_its_ticket_shown_and_printed(booked: Any) -> None:
    k = booked
    code = book(k.backoffice, contact="scan@example.jp", procedure="juminhyo")
    bring_to(k.backoffice, code, 10)   # within the check-in window: 30 min before
    shot(k, "26-welcome-booking")
    scan(k, code)                      # on the welcome screen: the check-in starts by itself
    assert k.s.step is Step.TICKET and not k.s.ticket.offline, k.s.notice
    number = k.s.ticket.number
    assert number.startswith("A-") and number in k.labels()
    assert k.printer.printed == [number] and k.s.ticket.printed
    assert any("印刷しました" in t for t in k.labels())
    assert k.s.ticket.people_ahead is not None and k.s.progress is None
    shot(k, "28-check-in-ticket")
    assert staff_view(k.backoffice)[code] == "checked_in"
    # scanning again after the visit gives the same ticket (the code is its key)
    k.app.act("cancel")
    k.h.settle()
    scan(k, code)
    assert k.s.ticket.number == number


def test_the_typed_code_and_every_refusal_in_words(booked: Any) -> None:
    k, bo = booked, booked.backoffice
    k.tap("choose_check_in")
    assert k.s.step is Step.CHECK_IN
    k.h.keys("ZZZZ")
    with pytest.raises(LookupError):   # 確認 waits for ten characters
        k.tap("take_check_in")
    k.h.keys("ZZZZZZ")
    shot(k, "27-check-in-typing")
    k.tap("take_check_in")
    said(k, checkin.UNKNOWN)
    assert not k.s.walk_in_offered

    typed = book(bo, contact="typed@example.jp")
    bring_to(bo, typed, -5)            # five minutes after the slot: still on time
    k.h.keys(typed)
    k.tap("take_check_in")
    assert k.s.step is Step.TICKET and k.s.ticket.number in k.labels(), k.s.notice
    k.app.act("cancel")
    k.h.settle()

    early = book(bo, contact="early@example.jp")   # days ahead
    scan(k, early)
    text = said(k, checkin.TOO_EARLY)
    assert str(k.s.notice.params["opens"]) in text and not k.s.walk_in_offered
    shot(k, "29-check-in-too-early")

    elsewhere = book(bo, ward="naka", contact="naka@example.jp")
    bring_to(bo, elsewhere, 5)
    scan(k, elsewhere)
    assert "中区役所" in said(k, checkin.OTHER_WARD)

    missed = book(bo, contact="missed@example.jp")
    bring_to(bo, missed, -60)          # after no_show_minutes (30)
    scan(k, missed)
    said(k, checkin.MISSED)
    k.tap("walk_in")                   # offered: a walk-in ticket through the menu
    assert k.s.step is Step.PROCEDURE
    k.app.act("cancel")
    k.h.settle()


def test_a_place_taken_from_home_checks_in_by_its_code(booked: Any) -> None:
    """A place in today's queue taken on the phone (/queue) has a code of the same kind:
    typed (or scanned) here it becomes a ticket queued when the place was taken, ahead
    of those who came after it; at another ward's kiosk it is named there."""
    k, bo = booked, booked.backoffice
    code = take_place(bo, ahead=6)
    ok = bo.session("kiosk").post(bo.api("/tickets"), json={"service": "certificates"},
                                  headers={"Idempotency-Key": f"later-{code}"}, timeout=30)
    assert ok.status_code == 201, ok.text        # a walk-in who came after the place
    k.tap("choose_check_in")
    k.h.keys(code)
    k.tap("take_check_in")
    assert k.s.step is Step.TICKET, k.s.notice
    number = k.s.ticket.number
    assert number.startswith("A-") and number in k.labels() and k.printer.printed[-1] == number
    assert k.s.ticket.people_ahead == 6          # the later walk-in is behind it
    k.app.act("cancel")
    k.h.settle()
    scan(k, code)                                 # the same ticket again (idempotent)
    assert k.s.ticket.number == number
    k.app.act("cancel")
    k.h.settle()
    scan(k, "ZZZZZZZZZZ")                         # neither a booking nor a place
    said(k, checkin.UNKNOWN)


def test_offline_says_so_offers_a_walk_in_and_loses_nothing(booked: Any) -> None:
    k, bo = booked, booked.backoffice
    code = book(bo, contact="offline@example.jp")
    bring_to(bo, code, 5)
    bo.stop()
    scan(k, code)
    said(k, checkin.UNREACHABLE)
    assert k.h.find("walk_in") is not None
    bo.start()                         # back: the booking is untouched, and checks in
    assert staff_view(bo)[code] == "booked"
    k.app.act("cancel")
    k.h.settle()
    scan(k, code)
    assert k.s.step is Step.TICKET and not k.s.ticket.offline


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_check_in_screen_speaks_the_residents_language(booked: Any,
                                                           language: str) -> None:
    k = booked
    k.tap("set_language", language)
    k.tap("choose_check_in")
    k.h.keys("ZZZZZZZZZZ")
    k.tap("take_check_in")
    text = said(k, checkin.UNKNOWN)
    assert text != checkin.UNKNOWN.msgid   # translated, not the Japanese msgid
    assert k.app.tr("予約の方") in k.labels() or k.app.title_text == k.app.tr("予約の方")
    if language == "en":
        shot(k, "27-check-in-unknown")


def test_a_booked_life_event_goes_straight_to_its_forms_and_one_routed_ticket(
        booked: Any) -> None:
    """A 転入 booked on the page: the scan leads to the event's questions (no procedure
    menu, no event to choose), its list, ONE card read, the forms pre-filled from the
    card (only what no card holds is asked), one review; then the check-in sends the
    forms with the code: the booking's ticket is the routed visit's, printed with its
    guide slip."""
    k, bo = booked, booked.backoffice
    code = book(bo, service="moving", contact="tennyu@example.jp", life_event="tennyu")
    bring_to(bo, code, 10)
    scan(k, code)
    assert k.s.step is Step.QUESTION and k.s.visit.event.code == "tennyu", k.s.notice
    assert staff_view(bo)[code] == "booked"      # no ticket yet: the forms come first
    for answer in ANSWERS:
        k.tap("answer", answer)
    assert k.s.step is Step.PLAN
    k.tap("accept_plan")
    k.tap("choose_card")
    card = place(k, StandInCard())
    type_pin(k, "1234")
    while k.s.step is Step.ENTRY:          # only what no card holds
        if k.s.entry_field().kind.value == "date":
            k.tap("entry_done", date.today().isoformat())
        else:
            k.h.keys("きたく")
            k.tap("entry_done")
    assert k.s.step is Step.CONFIRM and DEMO_HOLDER["name"] in k.labels()  # from the card
    k.tap("confirm")
    if k.s.step is Step.PAYMENT:
        k.tap("choose_payment", "counter")
    assert k.s.step is Step.TICKET, k.s.notice
    number = k.s.ticket.number
    assert number.startswith("B-") and card.reads == 1
    assert k.printer.printed == [number, f"{number} 案内票"]
    assert staff_view(bo)[code] == "checked_in"
    ticket_id = k.s.ticket.reference.removeprefix("ticket:")
    r = bo.session("staff").get(bo.api(f"/tickets/{ticket_id}"), timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["priority"] == "appointment" and body["number"] == number
    # the first stage's clerk sees its forms, filled from the card (docs/life-events.md)
    assert [a["procedure"] for a in body["applications"]] == ["tennyu", "card_address"]
    assert all(a["values"]["name"] == DEMO_HOLDER["name"] for a in body["applications"])


def test_the_check_in_screen_targets_reach_and_contrast(kiosk: Any) -> None:
    """The check-in screen and its keyboard (the in-process stand-in desk: offline, so
    the walk-in offer shows too): 15 mm targets in default and large text, every control
    in the lower two-thirds in low reach, text ≥ 7:1 in high contrast."""
    from tests.support.screen import buttons, text_contrast
    from tests.ui.test_life_event import shown

    k = kiosk
    k.desk.online = False
    minimum = k.app.cfg.target_px - 0.5

    def visit(check: Callable[[], None]) -> None:
        k.tap("choose_check_in")
        check()
        k.h.keys("ABCDEFGH23")
        k.tap("take_check_in")          # the stand-in desk is offline: refused, walk-in
        assert k.s.walk_in_offered
        check()
        k.app.act("cancel")
        k.h.settle()

    def targets() -> None:
        for w in buttons(k.h.widgets()):
            assert w.width >= minimum and w.height >= minimum, (w.action, w.size)

    def low() -> None:
        top = k.h.window.height * 2 / 3
        for w in buttons(k.h.widgets()):
            assert w.to_window(w.x, w.top)[1] <= top + 1, w.action

    def readable() -> None:
        img = k.h.pixels()
        for w in [w for w in buttons(k.h.widgets()) if w.text and shown(w)]:
            assert text_contrast(img, w) >= 7, w.action

    visit(targets)
    k.tap("toggle", "large_text")
    visit(targets)
    k.tap("toggle", "low_reach")
    visit(low)
    k.tap("toggle", "high_contrast")
    visit(readable)
