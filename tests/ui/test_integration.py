"""Whole visits on the real Kivy app against the real parts: the stand-in My Number card
through a private pcscd + vpcd (kiosk.card), a real back-office process (kiosk.sync's
KioskLink), and the stand-in ESC/POS printer over TCP (kiosk.printing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.domain.session import PayMethod, Step
from kiosk.ui.adapters import CardReaderAdapter, LinkDesk
from tests.ui.test_visits import ask_staff, assert_ticket_on_screen_only

pytestmark = [pytest.mark.kivy, pytest.mark.pcsc, pytest.mark.slow]


@pytest.fixture
def real(kiosk: Any, card_slot: Any, standin_printer: Any, tmp_path: Path,
         request: pytest.FixtureRequest) -> Iterator[Any]:
    from kiosk.card.pcsc import PcscCardReader
    from kiosk.printing.kiosk_port import KioskTicketPrinter
    from kiosk.sync import KioskLink
    from tests.sync.helpers import settings

    bo = request.getfixturevalue("backoffice")
    link = KioskLink(settings(tmp_path, bo.url, token=bo.kiosk_token, issue_timeout=2.0))
    link.start()
    kiosk.backoffice, kiosk.link = bo, link
    c = kiosk.app.controller
    reader = PcscCardReader(card_slot.reader)
    c.reader = CardReaderAdapter(reader)
    c.desk = LinkDesk(link)
    c.printer = KioskTicketPrinter(standin_printer.printer())
    kiosk.card_slot = card_slot
    kiosk.paper = standin_printer
    yield kiosk
    c.end_visit()
    link.stop()
    reader.close()


def to_pin(k: Any, procedure: str = "juminhyo", **card: Any) -> Any:
    inserted = k.card_slot.insert("yamada", **card)
    k.tap("start")
    k.tap("choose_procedure", procedure)
    k.tap("choose_card")
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.PIN, k.s.notice
    return inserted


def pin(k: Any, digits: str) -> None:
    for d in digits:
        k.tap("pin_press", d)
    k.tap("take_pin")


def test_card_visit_against_the_real_card_backoffice_and_printer(real: Any) -> None:
    k = real
    card = to_pin(k)
    pin(k, "1234")
    assert k.s.step is Step.CONFIRM, k.s.notice
    assert "山田\u3000太郎" in k.labels()
    assert k.app.controller.card is None  # read, then unpowered at once
    k.tap("set_count", "copies", 1)
    k.tap("confirm")
    k.tap("choose_payment", PayMethod.COUNTER)
    assert k.s.step is Step.TICKET
    t = k.s.ticket
    assert not t.offline and t.people_ahead is not None and t.status_url
    assert t.printed
    job = k.paper.wait_for_jobs(1)[-1]
    assert job.complete and job.cut and job.images >= 1  # raster ticket, QR included
    assert requests.get(t.status_url, timeout=5).status_code == 200
    assert "1234" not in card.apdu_log().replace("00 20 00 80 04 31 32 33 34", "")


def test_wrong_pin_then_the_last_try_is_never_sent_to_the_card(real: Any) -> None:
    k = real
    card = to_pin(k, tries_left=2)
    pin(k, "9999")
    assert k.s.pin_locked and k.s.step is Step.PIN
    with pytest.raises(LookupError):
        k.tap("take_pin")
    verifies = [line for line in card.apdu_log().splitlines() if "00 20 00 80 04" in line]
    assert len(verifies) == 1
    k.tap("choose_no_card")
    assert k.s.step is Step.ENTRY and k.app.controller.card is None


def test_ask_staff_with_the_printer_out_of_paper_shows_the_ticket(real: Any) -> None:
    k = real
    k.paper.run_out_of_paper()
    ask_staff(k, "koseki")
    assert_ticket_on_screen_only(k)


def test_backoffice_down_gives_an_honest_offline_ticket(real: Any) -> None:
    import time
    k = real
    end = time.monotonic() + 20
    while not k.link.status().offline_numbers_left.get("certificates") \
            and time.monotonic() < end:
        time.sleep(0.1)  # the link reserves offline numbers while it is online
    k.backoffice.stop()
    to_pin(k)
    pin(k, "1234")
    k.tap("confirm")
    k.tap("choose_payment", PayMethod.COUNTER)
    assert k.s.step is Step.TICKET, k.s.notice
    assert k.s.ticket.offline and k.s.ticket.wait_minutes is None
    assert any("お知らせできません" in t for t in k.labels())


def test_timeout_at_the_pin_unpowers_the_real_card(real: Any) -> None:
    k = real
    to_pin(k)
    k.tap("pin_press", "1")
    session = k.app.controller.card.session
    k.clock.offset += k.s.settings.idle_timeout_s + 1
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.WELCOME and not k.s.has_personal_data
    assert k.app.controller.card is None
    assert session._closed  # close() disconnected with SCARD_UNPOWER_CARD


def test_ask_staff_alerts_the_floor_staff_with_the_kiosks_place_only(real: Any) -> None:
    """"Ask staff" at the kiosk (real Kivy app, real back-office): the floor view's list
    has the kiosk and its place, and nothing of the visit."""
    k = real
    k.app.controller.desk.place = "1階 正面入口"
    ask_staff(k, "juminhyo")
    assert k.s.step is Step.TICKET and k.s.ticket.assistance
    floor = k.backoffice.session("staff").get(
        f"{k.backoffice.url}/api/v1/wards/kita/floor/requests", timeout=10).json()
    (asked,) = floor["open"]
    assert asked["place"] == "1階 正面入口" and asked["reason"] == "ask_staff"
    assert k.s.ticket.number not in str(asked) and "juminhyo" not in str(asked)
