"""The printed ticket is in the resident's language with the Japanese under it: a visit
on the real Kivy app in each language, printed through the stand-in ESC/POS printer over
TCP, and the paper (its PNG) compared with the slip rendered in that language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from PIL import Image, ImageChops

from kiosk.domain.session import Step
from kiosk.printing.render import printable, ticket_image
from kiosk.printing.slip import NUMBER_LABEL, slip_for, slip_lines
from tests.ui.test_visits import ask_staff

pytestmark = pytest.mark.kivy

NOW = datetime(2026, 12, 4, 10, 15)
LABELS = {"en": "Ticket number", "zh-Hans": "受理号码", "ko": "접수 번호", "vi": "Số tiếp nhận",
          "pt": "Número da senha"}


@pytest.fixture
def printing(kiosk: Any, standin_printer: Any) -> Iterator[Any]:
    from kiosk.printing.kiosk_port import KioskTicketPrinter
    kiosk.app.controller.printer = KioskTicketPrinter(standin_printer.printer(),
                                                      clock=lambda: NOW)
    kiosk.paper = standin_printer
    yield kiosk
    kiosk.app.controller.end_visit()


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "ko", "vi", "pt"])
def test_ticket_prints_in_the_residents_language_and_japanese(printing: Any, lang: str) -> None:
    k = printing
    k.app.act("set_language", lang)
    ask_staff(k, "juminhyo")
    assert k.s.step is Step.TICKET and k.s.ticket.printed
    ticket, procedure, ward = k.s.ticket, k.s.procedure, k.s.ward
    slip = slip_for(ticket, procedure, ward, issued_at=NOW, language=lang)
    lines = [line.text for line in slip_lines(slip, printable)]
    # The resident's words (no English fallback: the fonts draw every script) + Japanese.
    label = lines.index(NUMBER_LABEL) - 1
    assert lines[label] == LABELS[lang]
    assert NUMBER_LABEL in lines and ticket.number in lines

    paper = Image.open(k.paper.wait_for_jobs(1)[-1].png_path).convert("L")
    reference = ticket_image(slip, 576).convert("L")
    printed = paper.crop((0, 0, 576, reference.height))
    assert ImageChops.difference(printed, reference).getbbox() is None
    japanese_only = ticket_image(slip_for(ticket, procedure, ward, issued_at=NOW), 576)
    assert paper.height > japanese_only.height   # two languages: a longer slip
