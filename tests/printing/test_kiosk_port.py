"""The kiosk app's printer port: a desk Ticket in, a printed slip or a msgid out."""

from __future__ import annotations

from datetime import datetime

from kiosk.configfile import load_catalog
from kiosk.domain.session import Ticket
from kiosk.printing.device import PaperOutError
from kiosk.printing.kiosk_port import KioskTicketPrinter
from kiosk.printing.slip import counter_group, slip_for, slip_lines

CATALOG = load_catalog()
KITA = CATALOG.ward("kita")
JUMINHYO = CATALOG.procedure("juminhyo")
NOW = datetime(2026, 11, 22, 10, 15)


def test_counter_group_names_the_counters_of_the_service() -> None:
    assert counter_group(KITA, "certificates") == "1・2番窓口"
    assert counter_group(KITA, "insurance") == "4・5番窓口"


def test_offline_ticket_says_the_wait_is_unknown() -> None:
    ticket = Ticket(number="A-101", service="certificates", people_ahead=None,
                    wait_minutes=None, offline=True)
    slip = slip_for(ticket, JUMINHYO, KITA, issued_at=NOW)
    texts = [line.text for line in slip_lines(slip)]
    assert "待ち時間の目安：ただいま分かりません" in texts
    assert not any(t.startswith("お待ちの人数") for t in texts)
    assert not any(line.style.value == "qr" for line in slip_lines(slip))   # no URL, no QR


def test_prints_through_the_stand_in_and_reports_problems(standin_printer) -> None:
    port = KioskTicketPrinter(standin_printer.printer(), clock=lambda: NOW)
    ticket = Ticket(number="A-012", service="certificates", people_ahead=2, wait_minutes=8,
                    offline=False, status_url="https://kita.example.city.jp/q/A-012")
    assert port.can_print()
    assert port.print_ticket(ticket, JUMINHYO, KITA) is None
    assert standin_printer.wait_for_jobs(1)[0].complete
    standin_printer.run_out_of_paper()
    assert not port.can_print()
    assert port.print_ticket(ticket, JUMINHYO, KITA) == PaperOutError.message
