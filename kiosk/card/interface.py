"""What the kiosk app relies on: a card reader and one resident's card session.

`kiosk.card.pcsc.PcscCardReader` is the real adapter (any PC/SC reader, and the stand-in
card of `hardware.card` behind vsmartcard-vpcd); `hardware.card.local.LocalCardReader`
runs the stand-in card in-process when no pcscd is wanted. Choose with `[card] backend`.
"""

from __future__ import annotations

from typing import Protocol

from kiosk.card.authenticity import AuthenticityResult
from kiosk.card.holder import Holder


class CardApplet(Protocol):
    """An exclusive connection to the card's 券面事項入力補助AP
    (kiosk.card.session.CardApChannel)."""

    atr: bytes
    apdu_count: int
    opened_with: str | None   # "pin" | "code_b" after a successful verify, else None

    def tries_left(self) -> int:
        """PIN tries left, 0 = blocked. Costs no try."""

    def verify(self, pin: str) -> None:
        """WrongPin(tries_left) / LastPinTry (not sent) / PinBlocked / InvalidPin."""

    def code_b_tries_left(self) -> int:
        """照合番号B tries left (its own counter), 0 = blocked. Costs no try."""

    def verify_code_b(self, code: str) -> None:
        """照合番号B, 14 digits: WrongCodeB(tries_left, stop) / CodeBTriesLow (not sent,
        ≤ 2 left) / CodeBBlocked / InvalidCodeB. Opens EF 0002, not EF 0001."""

    def read_holder(self) -> Holder:
        """The basic four; needs a successful verify() or verify_code_b()."""

    def read_my_number(self) -> str:
        """The 12-digit number — only when the form needs it; never store or log it.
        NumberUnavailable when the card was opened with 照合番号B."""

    def check_authenticity(self, *, with_number: bool = False) -> AuthenticityResult:
        """GENUINE / NOT_VERIFIABLE / TAMPERED; reads the holder file if not read yet;
        EF 0001's digest is checked whenever the number was read."""

    def close(self) -> None:
        """Forget what was read and power the card off. Idempotent."""


class CardReader(Protocol):
    def readers(self) -> list[str]:
        """Names of the readers pcscd knows."""

    def card_present(self) -> bool:
        """Whether a card is on the configured reader now."""

    def wait_for_card(self, timeout: float | None = None) -> CardApplet:
        """Block until a card is there, then open an exclusive session.

        NoCard on timeout, Cancelled after cancel(), ReaderUnavailable, ServiceUnavailable.
        """

    def poll(self) -> CardApplet | None:
        """A session if a card is on the reader now, else None. Does not block (for a
        UI clock tick)."""

    def wait_for_removal(self, timeout: float | None = None) -> bool:
        """Block until the reader is empty; False on timeout."""

    def cancel(self) -> None:
        """From another thread: make a pending wait raise Cancelled."""

    def close(self) -> None:
        """Release the reader (the PC/SC context)."""
