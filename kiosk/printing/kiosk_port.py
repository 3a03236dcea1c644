"""The printer as the kiosk app sees it (the `TicketPrinter` port of kiosk.ui.ports).

The app hands over the ticket the desk issued; this makes the slip, prints it and
answers None, or the Japanese msgid to show beside the number on screen — the ticket
stays valid either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kiosk.domain.catalog import Procedure, Ward
from kiosk.domain.session import Ticket
from kiosk.printing.device import Printer, PrintError
from kiosk.printing.slip import slip_for


class KioskTicketPrinter:
    def __init__(self, printer: Printer, clock: Callable[[], datetime] = datetime.now) -> None:
        self.printer = printer
        self.clock = clock

    def can_print(self) -> bool:
        """Ask before issuing: False when a ticket would not come out now."""
        return self.printer.can_print()

    def print_ticket(self, ticket: Ticket, procedure: Procedure, ward: Ward,
                     language: str = "ja") -> str | None:
        slip = slip_for(ticket, procedure, ward, issued_at=self.clock(), language=language)
        try:
            self.printer.print_ticket(slip)
        except PrintError as exc:   # already logged by the adapter, with the cause
            return exc.message
        return None

    def close(self) -> None:
        self.printer.close()
