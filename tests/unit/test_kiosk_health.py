"""The kiosk's health probe (kiosk/ui/health.py) against the stand-in printer: each printer
fault becomes the heartbeat's word, only a change is reported, nothing is probed while a
visit is under way, and a reader that pcscd cannot list is reported missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.ui.health import HealthReporter, printer_word, reader_word


def test_each_printer_fault_has_its_word(standin_printer: Any) -> None:
    printer, standin = standin_printer.printer(), standin_printer.standin
    assert printer_word(printer.status()) == "ok"
    standin.paper_near_end()
    assert printer_word(printer.status()) == "paper_near_end"
    standin.run_out_of_paper()
    assert printer_word(printer.status()) == "paper_out"   # the printer also says offline
    standin.load_paper()
    standin.open_cover()
    assert printer_word(printer.status()) == "cover_open"
    standin.close_cover()
    standin.power_off()
    assert printer_word(printer.status()) == "offline"
    standin.power_on()
    assert printer_word(printer.status()) == "ok"


def test_only_changes_are_reported_and_only_between_visits(standin_printer: Any,
                                                           tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    idle = [False]
    reporter = HealthReporter(lambda **kw: sent.append(kw),
                              printer_status=standin_printer.printer().status,
                              readers=lambda: ["stand-in reader"], data_dir=tmp_path,
                              idle=lambda: idle[0])
    assert not reporter.check() and sent == []           # a visit: no probe at all
    idle[0] = True
    assert reporter.check()
    assert sent[0]["printer"] == "ok" and sent[0]["card_reader"] == "ok"
    assert isinstance(sent[0]["disk_free_mb"], int)
    assert not reporter.check()                          # nothing new
    standin_printer.standin.run_out_of_paper()
    assert reporter.check() and sent[-1]["printer"] == "paper_out"


def test_a_reader_pcscd_cannot_list_is_missing() -> None:
    def gone() -> list[str]:
        raise OSError("pcscd not running")
    assert reader_word(gone) == "missing"
    assert reader_word(list) == "missing"
    assert reader_word(lambda: ["ACS ACR39U"]) == "ok"


def test_the_payment_terminal_says_it_is_alive(tmp_path: Path) -> None:
    """Issue #20: the kiosk asks its payment terminal (nexo Diagnosis, the stand-in) between
    visits; "ok" while it answers, its own status when it is in maintenance, "offline" when
    it is gone — and the back-office counts the last two as problems."""
    import threading

    from hardware.payment.terminal import TerminalServer, TerminalState
    from kiosk.backoffice.device_health import problems_of
    from kiosk.payment.terminal import NexoTcpTerminal

    server = TerminalServer(("127.0.0.1", 0), TerminalState(poi_id="T-9"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    terminal = NexoTcpTerminal("127.0.0.1", server.server_address[1], sale_id="k1",
                               connect_timeout_s=1.0)
    sent: list[dict[str, Any]] = []
    reporter = HealthReporter(lambda **kw: sent.append(kw), printer_status=lambda: None,
                              readers=None, data_dir=tmp_path, idle=lambda: True,
                              terminal=terminal.diagnosis)
    try:
        assert terminal.diagnosis() == "ok"
        assert reporter.check() and sent[-1]["payment_terminal"] == "ok"
        server.state.status = "Maintenance"
        assert reporter.check() and sent[-1]["payment_terminal"] == "maintenance"
    finally:
        server.shutdown()
        server.server_close()
    assert reporter.check() and sent[-1]["payment_terminal"] == "offline"
    assert not reporter.check()                               # no news: not sent again
    assert problems_of("degraded", {"components": {"payment_terminal": "offline"}}) == \
        ["payment_terminal:offline"]
    assert problems_of("ok", {"components": {"payment_terminal": "ok"}}) == []
