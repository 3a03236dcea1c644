"""A routed visit's two slips: the ticket with its route and the 手続き案内票 — as lines,
and as they come out of the stand-in printer (PNG compared, QR scanned, Shift_JIS text)."""

from __future__ import annotations

from datetime import datetime

import pytest
from PIL import Image, ImageChops

from kiosk.configfile import load_catalog
from kiosk.domain.session import Ticket
from kiosk.printing.guide import GuideEntry, GuideSlip, guide_lines
from kiosk.printing.kiosk_port import KioskTicketPrinter, RoutedPrint
from kiosk.printing.render import ticket_image
from kiosk.printing.slip import Style, slip_lines
from tests.printing.conftest import STATUS_URL

AT = datetime(2026, 12, 4, 10, 15)
STAGES = [("moving", ["tennyu"]), ("insurance", ["kokuho"]), ("family", ["koseki"])]
GUIDE = (
    GuideEntry("転入届", "here", ("本人確認書類", "転出証明書"), procedure="tennyu"),
    GuideEntry("国民健康保険の加入", "here", ("本人確認書類",), procedure="kokuho"),
    GuideEntry("戸籍の届出", "here", (), procedure="koseki", note="14日以内に届け出てください"),
    GuideEntry("小中学校の転入学", "other", ("在学証明書",), office="教育委員会"),
    GuideEntry("電気・ガス・水道の手続き", "online", (), url="https://example.jp/lifeline"),
)


def _visit() -> tuple[RoutedPrint, object]:
    catalog = load_catalog()
    return RoutedPrint(catalog, "転入", STAGES, GUIDE), catalog.ward("kita")


def _ticket() -> Ticket:
    return Ticket(number="B-012", service="moving", people_ahead=3, wait_minutes=12,
                  offline=False, status_url=STATUS_URL)


def _slips(language: str = "ja") -> tuple[object, GuideSlip]:
    visit, ward = _visit()
    return visit.slips(_ticket(), ward, issued_at=AT, language=language)  # type: ignore[arg-type]


def test_ticket_prints_the_route_in_order_with_prefix_and_counters() -> None:
    ticket_slip, _ = _slips()
    texts = [line.text for line in slip_lines(ticket_slip)]  # type: ignore[arg-type]
    stops = [t for t in texts if t[:2] in ("1.", "2.", "3.")]
    assert stops == ["1. 転入・転居・転出 B（3・4番窓口）",
                     "2. 保険・年金・手当 D（4・5番窓口）",
                     "3. 戸籍・家族 C（3・5番窓口）"], texts
    assert "この順番で窓口を回ります" in texts and "B-012" in texts
    assert texts[1] == "転入"                      # the event is the heading
    assert "3・4番窓口でお呼びします" in texts       # the first stage's counters call first


def test_guide_lists_every_procedure_where_and_what_to_bring() -> None:
    _, guide = _slips()
    lines = guide_lines(guide)
    texts = [line.text for line in lines]
    assert texts[:4] == ["北区役所", "手続き案内票", "転入の手続き", "受付番号 B-012"]
    order = [texts.index(t) for t in ("この庁舎で行う手続き", "■ 転入届", "■ 国民健康保険の加入",
                                      "ほかの窓口で行う手続き", "■ 小中学校の転入学",
                                      "オンラインでできる手続き", "■ 電気・ガス・水道の手続き")]
    assert order == sorted(order)
    assert "この庁舎：2番目の窓口（4・5番窓口）" in texts
    assert "持ち物：本人確認書類、転出証明書" in texts
    assert "ほかの窓口：教育委員会" in texts and "持ち物：在学証明書" in texts
    assert "オンライン：https://example.jp/lifeline" in texts
    assert "持ち物：特にありません" in texts
    assert "14日以内に届け出てください" in texts      # an item's note (a deadline)
    assert [line.text for line in lines if line.style is Style.QR] == [STATUS_URL]


def test_guide_in_the_residents_language_then_japanese() -> None:
    _, guide = _slips("en")
    texts = [line.text for line in guide_lines(guide)]
    i = texts.index("Elsewhere: 教育委員会") if "Elsewhere: 教育委員会" in texts else \
        next(n for n, t in enumerate(texts) if t.startswith("Elsewhere: "))
    assert texts[i + 1] == "ほかの窓口：教育委員会"
    bring = next(t for t in texts if t.startswith("Bring: "))
    assert ", " in bring and "、" not in bring     # the language's own list separator
    assert "Your procedures (guide)" in texts and "手続き案内票" in texts


def _print(port: KioskTicketPrinter) -> str | None:
    visit, ward = _visit()
    return port.print_visit(_ticket(), visit, "転入", visit.catalog, ward)  # type: ignore[arg-type]


def _same(job_png: Image.Image, reference: Image.Image) -> bool:
    printed = job_png.convert("1").crop((0, 0, reference.width, reference.height))
    return ImageChops.difference(printed.convert("L"), reference.convert("L")).getbbox() is None


def test_both_slips_come_out_of_the_stand_in_printer(standin_printer) -> None:
    pyzbar = pytest.importorskip("pyzbar.pyzbar", reason="pyzbar + libzbar0 (dev extra)")
    port = KioskTicketPrinter(standin_printer.printer("generic-80mm"), clock=lambda: AT)
    assert _print(port) is None
    jobs = standin_printer.wait_for_jobs(2)
    assert all(job.complete and job.cut for job in jobs)
    ticket_slip, guide = _slips()
    for job, slip in zip(jobs, (ticket_slip, guide), strict=True):
        paper = job.png()
        assert _same(paper, ticket_image(slip, 576))  # type: ignore[arg-type]
        found = [s.data.decode() for s in pyzbar.decode(paper.convert("L"))]
        assert found == [STATUS_URL]


def test_sjis_printer_decodes_route_and_guide_as_text(standin_printer) -> None:
    port = KioskTicketPrinter(standin_printer.printer("epson-tm-t88-j"), clock=lambda: AT)
    assert _print(port) is None
    ticket_job, guide_job = standin_printer.wait_for_jobs(2)
    assert not ticket_job.stray_high_bytes and not guide_job.stray_high_bytes
    for text in ("B-012", "1. 転入・転居・転出 B（3・4番窓口）", "3. 戸籍・家族 C（3・5番窓口）"):
        assert text in ticket_job.text
    for text in ("手続き案内票", "■ 小中学校の転入学", "ほかの窓口：教育委員会",
                 "持ち物：本人確認書類、転出証明書", "受付番号 B-012"):
        assert text in guide_job.text
    assert ticket_job.qr_codes == [STATUS_URL] == guide_job.qr_codes


def test_a_failed_ticket_does_not_print_the_guide(standin_printer) -> None:
    standin_printer.run_out_of_paper()
    port = KioskTicketPrinter(standin_printer.printer(), clock=lambda: AT)
    problem = _print(port)
    assert problem == "プリンターの用紙がなくなりました。番号は画面でご確認ください"
    assert standin_printer.jobs == []
