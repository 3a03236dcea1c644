"""Tickets printed over TCP through python-escpos' Network transport to the stand-in
printer: what comes out (decoded PNG), status commands, and every fault."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from escpos.printer import Network
from PIL import Image, ImageChops

from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Section
from kiosk.printing.config import PrinterConfig, open_printer
from kiosk.printing.device import (
    CoverOpenError,
    PaperOutError,
    PaperState,
    Printer,
    PrinterFaultError,
    PrinterOfflineError,
    PrintError,
    PrinterStatus,
)
from kiosk.printing.escpos_printer import EscposPrinter
from kiosk.printing.render import MODELS, line_image, raster, ticket_image
from kiosk.printing.slip import Style, slip_lines
from tests.printing.conftest import STATUS_URL

ROOT = Path(__file__).resolve().parents[2]


def _black(img: Image.Image) -> int:
    return img.convert("L").histogram()[0]


def _number_box(slip, width: int = 576) -> tuple[int, int, int, int]:
    """Where the ticket number sits in the raster rendering (mirrors ticket_image)."""
    y = 4
    for line in slip_lines(slip):
        h = line_image(line, width).height
        if line.style is Style.NUMBER:
            return (0, y, width, y + h)
        y += h
    raise AssertionError("no number line")


def test_raster_ticket_comes_out_exactly_as_rendered(standin_printer, slip) -> None:
    printer = standin_printer.printer("generic-80mm")
    assert isinstance(printer, Printer)
    printer.print_ticket(slip)
    job = standin_printer.wait_for_jobs(1)[0]
    assert job.complete and job.cut and job.images == 1 and not job.stray_high_bytes
    paper = Image.open(job.png_path).convert("1")
    reference = ticket_image(slip, 576)
    printed = paper.crop((0, 0, 576, reference.height))
    assert ImageChops.difference(printed.convert("L"), reference.convert("L")).getbbox() is None
    number = printed.crop(_number_box(slip))
    assert _black(number) > 0.10 * number.width * number.height   # big, bold A-012
    assert (standin_printer.directory / "job-0001.bin").read_bytes()[:2] == b"\x1b@"
    meta = json.loads((standin_printer.directory / "job-0001.json").read_text("utf-8"))
    assert meta["complete"] is True


def test_sjis_ticket_is_decoded_as_japanese_text(standin_printer, slip) -> None:
    standin_printer.printer("epson-tm-t88-j").print_ticket(slip)
    job = standin_printer.wait_for_jobs(1)[0]
    assert job.complete and job.kanji_mode and not job.stray_high_bytes
    for text in ("北区役所", "住民票の写し", "A-012", "お待ちの人数：3人",
                 "待ち時間の目安：約12分"):
        assert text in job.text
    assert job.qr_codes == [STATUS_URL]
    paper = Image.open(job.png_path)
    assert _black(paper) > 5000


def test_standin_notices_gb18030_from_escpos_text(standin_printer) -> None:
    net = standin_printer.network()
    net.text("北区役所\n")
    net.cut()
    net.close()
    job = standin_printer.wait_for_jobs(1)[0]
    assert job.stray_high_bytes and not job.kanji_mode
    assert "北区役所" not in job.text


def test_status_answers_python_escpos_own_queries(standin_printer) -> None:
    net = standin_printer.network()
    assert net.is_online() is True
    assert net.paper_status() == 2
    standin_printer.paper_near_end()
    assert net.paper_status() == 1
    standin_printer.run_out_of_paper()
    assert net.paper_status() == 0
    assert net.is_online() is False
    net.close()


def test_status_and_can_print(standin_printer) -> None:
    printer = standin_printer.printer()
    status = printer.status()
    assert status.online and status.paper is PaperState.OK and printer.can_print()
    standin_printer.paper_near_end()
    assert printer.status().paper is PaperState.NEAR_END and printer.can_print()
    standin_printer.open_cover()
    status = printer.status()
    assert status.cover_open and not status.can_print and not printer.can_print()
    standin_printer.close_cover()
    standin_printer.run_out_of_paper()
    assert printer.status().paper is PaperState.OUT and not printer.can_print()
    standin_printer.load_paper()
    assert printer.can_print()


def test_paper_out_before_printing_is_refused(standin_printer, slip) -> None:
    standin_printer.run_out_of_paper()
    with pytest.raises(PaperOutError) as err:
        standin_printer.printer().print_ticket(slip)
    assert not err.value.mid_job
    assert err.value.message == "プリンターの用紙がなくなりました。番号は画面でご確認ください"
    assert standin_printer.jobs == []       # nothing was sent


def test_paper_runs_out_mid_job(standin_printer, slip) -> None:
    standin_printer.run_out_of_paper(after_rows=300)
    with pytest.raises(PaperOutError) as err:
        standin_printer.printer(job_timeout=1.0).print_ticket(slip)
    assert err.value.mid_job
    job = standin_printer.wait_for_jobs(1)[0]
    assert not job.complete and not job.cut and job.interrupted == "paper_out"
    assert job.png().height == 300           # half a ticket came out, then nothing
    standin_printer.load_paper()
    standin_printer.printer().print_ticket(slip)   # after a new roll it prints again
    assert standin_printer.wait_for_jobs(2)[1].complete


def test_cover_open(standin_printer, slip) -> None:
    standin_printer.open_cover()
    with pytest.raises(CoverOpenError) as err:
        standin_printer.printer().print_ticket(slip)
    assert isinstance(err.value, PrintError) and err.value.code == "cover_open"
    standin_printer.close_cover()
    standin_printer.printer().print_ticket(slip)
    assert standin_printer.wait_for_jobs(1)[0].complete


def test_connection_refused(standin_printer, slip) -> None:
    printer = standin_printer.printer()
    standin_printer.power_off()
    assert printer.status().online is False
    assert not printer.can_print()
    with pytest.raises(PrinterOfflineError) as err:
        printer.print_ticket(slip)
    assert not err.value.mid_job


def test_connection_dropped_mid_job(standin_printer, slip) -> None:
    standin_printer.drop_connection(after_bytes=5000)
    with pytest.raises(PrinterOfflineError) as err:
        standin_printer.printer().print_ticket(slip)
    assert err.value.mid_job
    job = standin_printer.wait_for_jobs(1)[0]
    assert job.interrupted == "connection_dropped" and not job.cut


def test_open_printer_from_config_network(standin_printer, slip) -> None:
    printer = open_printer(standin_printer.config("epson-tm-t88-j"))
    printer.print_ticket(slip)
    assert standin_printer.wait_for_jobs(1)[0].kanji_mode
    printer.close()


def test_open_printer_standin_transport(tmp_path, slip) -> None:
    config = PrinterConfig(transport="standin", port=0, standin_output_dir=tmp_path,
                           job_timeout_seconds=2.0)
    printer = open_printer(config)
    try:
        printer.print_ticket(slip)
    finally:
        printer.close()
    assert (tmp_path / "job-0001.png").exists()


def test_printer_section_is_validated() -> None:
    config = PrinterConfig.from_section(Section(
        {"transport": "network", "model": "generic-58mm", "text_mode": "sjis", "port": 9101},
        "kiosk.toml", "printer"))
    assert config.model.width_px == 384 and config.model.text_mode.value == "sjis"
    with pytest.raises(ConfigError, match=r"printer.transport: no printer device .lpt."):
        PrinterConfig.from_section(Section({"transport": "lpt"}, "kiosk.toml", "printer"))
    with pytest.raises(ConfigError, match=r"printer.prot: unknown key"):
        PrinterConfig.from_section(Section({"prot": 9100}, "kiosk.toml", "printer"))
    with pytest.raises(ConfigError, match=r"printer.model"):
        PrinterConfig.from_section(Section({"model": "tm-x"}, "kiosk.toml", "printer"))


def test_repository_config_has_a_valid_printer_section() -> None:
    from kiosk.printing.config import load_printer_config

    config = load_printer_config()
    assert config.model.name in MODELS


def test_standin_printer_runs_as_a_program(tmp_path, slip) -> None:
    """What a maintainer runs: python -m hardware.printer, then looks at the PNG."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hardware.printer", "--port", "0", "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        port = int(re.search(r":(\d+),", banner).group(1))  # type: ignore[union-attr]
        printer = EscposPrinter(lambda: Network("127.0.0.1", port, timeout=2),
                                MODELS["generic-80mm"], job_timeout=5)
        printer.print_ticket(slip)
        png = tmp_path / "job-0001.png"
        for _ in range(50):
            if png.exists():
                break
            time.sleep(0.1)
        assert Image.open(png).width == 576
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serial_transport_to_the_stand_in(standin_printer, slip) -> None:
    """python-escpos' Serial transport, over a pseudo-terminal the stand-in serves."""
    from escpos.printer import Serial

    device = standin_printer.serve_serial()
    printer = EscposPrinter(lambda: Serial(device, baudrate=115200, timeout=1,
                                           profile="TM-T88V"),
                            MODELS["epson-tm-t88-j"], status_timeout=1, job_timeout=5)
    assert printer.status().online
    printer.print_ticket(slip)
    job = standin_printer.wait_for_jobs(1)[0]
    assert job.complete and job.kanji_mode and "北区役所" in job.text
    standin_printer.open_cover()
    with pytest.raises(CoverOpenError):
        printer.print_ticket(slip)
    standin_printer.close_cover()
    raster = EscposPrinter(lambda: Serial(device, baudrate=115200, timeout=1),
                           MODELS["generic-80mm"], status_timeout=1, job_timeout=5)
    raster.print_ticket(slip)               # binary raster bytes survive the line intact
    paper = standin_printer.wait_for_jobs(2)[1].png()
    reference = ticket_image(slip, 576)
    printed = paper.crop((0, 0, 576, reference.height))
    assert ImageChops.difference(printed.convert("L"), reference.convert("L")).getbbox() is None


def test_no_stale_rest_prints_after_new_paper(standin_printer, slip) -> None:
    """A printer holds what it could not print and prints it on recovery; after a failed
    ticket the adapter clears that (DLE DC4 8), so the next resident gets no half ticket."""
    standin_printer.run_out_of_paper(after_rows=300)
    with pytest.raises(PaperOutError):
        standin_printer.printer(job_timeout=1.0).print_ticket(slip)
    standin_printer.wait_for_jobs(1)        # the connection has ended on the printer's side
    assert standin_printer.buffer_clears == 1
    standin_printer.load_paper()
    time.sleep(0.2)
    assert [job.resumed for job in standin_printer.jobs] == [False]


def test_without_clearing_the_stand_in_prints_the_stale_rest(standin_printer, slip) -> None:
    net = standin_printer.network()
    standin_printer.run_out_of_paper(after_rows=100)
    net._raw(b"\x1b@" + raster(ticket_image(slip, 576)) + b"\x1bd\x06\x1dV\x00")
    net.close()
    standin_printer.wait_for_jobs(1)
    standin_printer.load_paper()
    jobs = standin_printer.wait_for_jobs(2)
    assert jobs[0].interrupted == "paper_out" and jobs[1].resumed and jobs[1].cut


@pytest.mark.parametrize("model", ["generic-80mm", "epson-tm-t88-j", "generic-58mm"])
def test_printed_qr_code_scans_to_the_status_url(standin_printer, slip, model) -> None:
    """What a resident's phone sees: decode the QR code on the printed paper."""
    pyzbar = pytest.importorskip("pyzbar.pyzbar", reason="pyzbar + libzbar0 (dev extra)")
    standin_printer.printer(model).print_ticket(slip)
    paper = standin_printer.wait_for_jobs(1)[0].png()
    found = [symbol.data.decode() for symbol in pyzbar.decode(paper.convert("L"))]
    assert found == [STATUS_URL]


@pytest.mark.parametrize("transport", ["usb", "serial"])
def test_absent_usb_or_serial_printer_is_offline_not_a_crash(transport, slip) -> None:
    printer = open_printer(PrinterConfig(transport=transport, serial_device="/dev/ttyNOPE",
                                         usb_vendor_id=0xFFFE, usb_product_id=0xFFFE))
    assert printer.status() == PrinterStatus.offline()
    with pytest.raises(PrinterOfflineError, match=r"not found|could not open"):
        printer.print_ticket(slip)


def test_hung_printer_is_offline_within_the_timeout(standin_printer, slip) -> None:
    standin_printer.freeze()
    printer = standin_printer.printer()
    assert printer.status() == PrinterStatus.offline()   # after the status timeout
    with pytest.raises(PrinterOfflineError, match="no answer"):
        printer.print_ticket(slip)
    assert standin_printer.jobs == []
    standin_printer.freeze(False)
    assert printer.can_print()


def test_cutter_jam_is_a_printer_fault(standin_printer, slip) -> None:
    standin_printer.jam_cutter()
    printer = standin_printer.printer()
    status = printer.status()
    assert status.error and not status.online and not status.can_print
    with pytest.raises(PrinterFaultError) as err:
        printer.print_ticket(slip)
    assert err.value.code == "fault"
    standin_printer.jam_cutter(False)
    printer.print_ticket(slip)
    assert standin_printer.wait_for_jobs(1)[0].complete


def test_standin_transport_uses_a_stand_in_already_on_the_port(standin_printer, slip) -> None:
    config = standin_printer.config(transport="standin")   # same host:port, already taken
    printer = open_printer(config)
    try:
        printer.print_ticket(slip)
    finally:
        printer.close()
    assert standin_printer.wait_for_jobs(1)[0].complete
