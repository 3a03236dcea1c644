"""The printer interface the kiosk talks to, the status it reports and the errors it raises.

A failed print is never silent: every way a ticket can fail to come out is a
`PrintError` subclass carrying a Japanese msgid (`message`) the kiosk translates and
shows, next to the ticket number on screen — the ticket itself stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from kiosk.printing.guide import GuideSlip
from kiosk.printing.slip import TicketSlip


class PaperState(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"   # still prints; tell the maintainer to change the roll soon
    OUT = "out"


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    paper: PaperState = PaperState.OK
    cover_open: bool = False
    error: bool = False       # cutter jam or another error the printer reports

    @classmethod
    def offline(cls) -> PrinterStatus:
        return cls(online=False)

    @property
    def can_print(self) -> bool:
        return (self.online and self.paper is not PaperState.OUT and not self.cover_open
                and not self.error)

    def problem(self) -> PrintError | None:
        """The error a print attempted now would raise, or None when it can print."""
        if self.cover_open:
            return CoverOpenError()
        if self.paper is PaperState.OUT:
            return PaperOutError()
        if self.error:
            return PrinterFaultError()
        if not self.online:
            return PrinterOfflineError()
        return None


class PrintError(Exception):
    """A ticket did not (completely) print. `message` is a msgid for the resident's screen."""

    log_safe = True  # the printer's state, never what was printed

    message = "券を印刷できませんでした。番号は画面でご確認ください"
    code = "print_failed"

    def __init__(self, detail: str = "", *, mid_job: bool = False) -> None:
        self.detail = detail
        self.mid_job = mid_job   # True: part of the ticket may have come out
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class PrinterOfflineError(PrintError):
    message = "プリンターに接続できません。番号は画面でご確認ください"
    code = "offline"


class PaperOutError(PrintError):
    message = "プリンターの用紙がなくなりました。番号は画面でご確認ください"
    code = "paper_out"


class CoverOpenError(PrintError):
    message = "プリンターのふたが開いています。番号は画面でご確認ください"
    code = "cover_open"


class PrinterFaultError(PrintError):
    message = "プリンターが故障しています。番号は画面でご確認ください"
    code = "fault"


@runtime_checkable
class Printer(Protocol):
    """A receipt printer the kiosk can ask before issuing and print a ticket on."""

    def status(self) -> PrinterStatus:
        """Ask the printer now; an unreachable printer is `PrinterStatus.offline()`."""
        ...

    def can_print(self) -> bool:
        ...

    def print_ticket(self, slip: TicketSlip | GuideSlip) -> None:
        """Print and cut one slip (a ticket or a 手続き案内票), or raise a `PrintError`
        saying why not."""
        ...

    def close(self) -> None:
        ...
