"""Stand-in receipt printer: an ESC/POS network printer on TCP that records every job
and shows it as PNG. Run it with ``python -m hardware.printer --port 9100 --out DIR``."""

from hardware.printer.server import StandInPrinter
from hardware.printer.stream import Job, PaperState

__all__ = ["Job", "PaperState", "StandInPrinter"]
