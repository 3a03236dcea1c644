"""Shared test fixtures (printer): the stand-in receipt printer on a free port.

    def test_x(standin_printer):
        printer = standin_printer.printer()          # kiosk.printing Printer over TCP
        printer.print_ticket(slip)
        job = standin_printer.wait_for_jobs(1)[-1]   # hardware.printer.Job
        job.png_path                                 # the paper as printed (PNG)
        standin_printer.run_out_of_paper(after_rows=200)   # faults: see StandInPrinter
        standin_printer.open_cover(); standin_printer.drop_connection()
        standin_printer.power_off()                  # connections refused

`standin_printer.config()` gives a `PrinterConfig` (transport "network") pointing at it,
for code that opens its printer from config, e.g. the kiosk app.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from escpos.printer import Network

from hardware.printer import Job, StandInPrinter
from kiosk.printing.config import PrinterConfig
from kiosk.printing.escpos_printer import EscposPrinter
from kiosk.printing.render import MODELS


class StandInRig:
    """The running stand-in printer plus helpers to reach it the way the kiosk does."""

    def __init__(self, standin: StandInPrinter, directory: Path) -> None:
        self.standin = standin
        self.directory = directory

    @property
    def host(self) -> str:
        return self.standin.host

    @property
    def port(self) -> int:
        return self.standin.port

    def network(self, timeout: float = 2.0) -> Network:
        """A python-escpos Network printer connected to the stand-in."""
        return Network(self.host, self.port, timeout=timeout, profile="TM-T20II")

    def config(self, model: str = "generic-80mm", **changes: Any) -> PrinterConfig:
        base = PrinterConfig(transport="network", model=MODELS[model], host=self.host,
                             port=self.port, timeout_seconds=1.0, job_timeout_seconds=2.0,
                             standin_output_dir=self.directory)
        return replace(base, **changes)

    def printer(self, model: str = "generic-80mm", job_timeout: float = 2.0) -> EscposPrinter:
        return EscposPrinter(
            lambda: Network(self.host, self.port, timeout=1.0, profile=MODELS[model].profile),
            MODELS[model], status_timeout=1.0, job_timeout=job_timeout, name="stand-in")

    @property
    def jobs(self) -> list[Job]:
        return list(self.standin.jobs)

    def __getattr__(self, name: str) -> Any:
        # Faults and job access: run_out_of_paper, open_cover, drop_connection, power_off,
        # wait_for_jobs, last_job, … come straight from the StandInPrinter.
        return getattr(self.standin, name)


@pytest.fixture
def standin_printer(tmp_path: Path) -> Iterator[StandInRig]:
    directory = tmp_path / "printer"
    standin = StandInPrinter("127.0.0.1", 0, output_dir=directory).start()
    try:
        yield StandInRig(standin, directory)
    finally:
        standin.stop()
