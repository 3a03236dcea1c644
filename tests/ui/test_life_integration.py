"""A life-event visit (転入, three procedures) on the real Kivy app against the real parts:
the stand-in My Number card through a private pcscd + vpcd, read ONCE; one routed ticket
issued to a real back-office process through kiosk.sync; the ticket and its 手続き案内票
printed by the stand-in ESC/POS printer, both decoded from its PNGs (QR scanned, pixels
compared with the rendering of the same slips)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import ImageChops

from kiosk.domain.session import Step
from kiosk.ui.adapters import CardReaderAdapter, LinkDesk
from tests.ui.test_integration import pin

pytestmark = [pytest.mark.kivy, pytest.mark.pcsc, pytest.mark.slow]

AT = datetime(2026, 12, 4, 10, 15)
ANSWERS = ("no", "no", "いない", "1人", "no")   # 転入届, カードの住所変更, 国保の加入


@pytest.fixture
def routed(kiosk: Any, card_slot: Any, standin_printer: Any, tmp_path: Path,
           request: pytest.FixtureRequest) -> Iterator[Any]:
    from kiosk.card.pcsc import PcscCardReader
    from kiosk.printing.kiosk_port import KioskTicketPrinter
    from kiosk.sync import KioskLink
    from tests.sync.helpers import settings

    bo = request.getfixturevalue("backoffice")
    api = requests.get(f"{bo.url}/openapi.json", timeout=10).text
    if '"life_event"' not in api:
        pytest.skip("this back-office takes no routed tickets yet (branch life-backoffice)")
    link = KioskLink(settings(tmp_path, bo.url, token=bo.kiosk_token, issue_timeout=3.0))
    link.start()
    c = kiosk.app.controller
    reader = PcscCardReader(card_slot.reader)
    c.reader = CardReaderAdapter(reader)
    c.desk = LinkDesk(link)
    c.printer = KioskTicketPrinter(standin_printer.printer(), clock=lambda: AT)
    kiosk.card_slot, kiosk.paper, kiosk.backoffice = card_slot, standin_printer, bo
    yield kiosk
    c.end_visit()
    link.stop()
    reader.close()


def test_tennyu_reads_the_real_card_once_and_prints_a_routed_ticket_and_guide(
        routed: Any) -> None:
    pyzbar = pytest.importorskip("pyzbar.pyzbar", reason="pyzbar + libzbar0 (dev extra)")
    from kiosk.printing.kiosk_port import RoutedPrint
    from kiosk.printing.render import ticket_image
    k = routed
    card = k.card_slot.insert("yamada")
    k.tap("start")
    k.tap("choose_life_events")
    k.tap("choose_event", "tennyu")
    for answer in ANSWERS:
        k.tap("answer", answer)
    assert k.s.step is Step.PLAN and k.s.visit.plan.procedures == (
        "tennyu", "card_address", "kokuho_kanyu")
    k.tap("accept_plan")
    k.tap("choose_card")
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.PIN, k.s.notice
    pin(k, "1234")
    while k.s.step is Step.ENTRY:       # each field no card holds, once for all forms
        if k.s.entry_field().kind.value == "date":
            k.tap("entry_done", date.today().isoformat())
        else:
            k.h.keys("きたく")
            k.tap("entry_done")
    assert k.s.step is Step.CONFIRM, k.s.notice
    assert "山田\u3000太郎" in k.labels()
    k.tap("confirm")
    if k.s.step is Step.PAYMENT:
        k.tap("choose_payment", "counter")
    assert k.s.step is Step.TICKET, k.s.notice
    t = k.s.ticket
    assert not t.offline and t.number.startswith("B-") and t.printed and t.status_url
    log = card.apdu_log()
    assert log.count("00 20 00 80 04") == 1          # the PIN, once
    assert log.count("00 A4 02 0C 02 00 02") == 1    # the basic four (EF 0002), once
    # the back-office holds one ticket with the route and every form
    ticket_id = int(t.reference.removeprefix("ticket:"))
    got = k.backoffice.session("staff").get(k.backoffice.api(f"/tickets/{ticket_id}"),
                                           timeout=5).json()
    assert [s["service"] for s in got["route"]] == ["moving", "insurance"]
    assert [st.service for st in t.route] == ["moving", "insurance"]   # its answer, on screen
    route = k.app.root.ids.sm.current_screen.ids.route.text
    assert route.index("1. 転入・転居・転出 B") < route.index("2. 保険・年金・手当 D")
    assert requests.get(t.status_url, timeout=5).status_code == 200
    # two slips out of the stand-in printer: exactly the ticket and the guide, QR on both
    request = k.s.routed_request()
    expected = RoutedPrint.of(k.s.catalog, k.s.visit.event.name, request).slips(
        t, k.s.ward, issued_at=AT)
    jobs = k.paper.wait_for_jobs(2)
    for job, slip in zip(jobs, expected, strict=True):
        assert job.complete and job.cut
        paper = job.png().convert("1")
        reference = ticket_image(slip, 576)
        printed = paper.crop((0, 0, reference.width, reference.height))
        assert ImageChops.difference(printed.convert("L"),
                                     reference.convert("L")).getbbox() is None
        assert [s.data.decode() for s in pyzbar.decode(paper.convert("L"))] == [t.status_url]
