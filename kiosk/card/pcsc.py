"""The real adapter: readers through pcscd with pyscard (contact or contactless alike).

Connects exclusively and disconnects with UNPOWER, because a VERIFY survives a plain
disconnect. The PC/SC socket is libpcsclite's default, or ``PCSCLITE_CSOCK_NAME`` if set
before the first PC/SC call of the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smartcard import scard

from kiosk.card.authenticity import TrustedCa
from kiosk.card.errors import (
    Cancelled,
    CardBusy,
    CardCommunicationError,
    CardError,
    CardRemoved,
    NoCard,
    ReaderUnavailable,
    ServiceUnavailable,
)
from kiosk.card.session import CardApChannel

if TYPE_CHECKING:
    from kiosk.card.config import CardConfig

log = logging.getLogger(__name__)

# 1E: SCARD_E_SERVICE_STOPPED; F_COMM_ERROR is libpcsclite's "the socket to pcscd broke".
_SERVICE = {scard.SCARD_E_NO_SERVICE, 0x8010001E, scard.SCARD_F_COMM_ERROR}
_READER = {scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE,
           scard.SCARD_E_NO_READERS_AVAILABLE}
_REMOVED = {scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD,
            scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_W_RESET_CARD,
            scard.SCARD_W_UNRESPONSIVE_CARD, scard.SCARD_E_NOT_TRANSACTED}


def error_for(hresult: int, doing: str) -> CardError:
    """The typed error for a PC/SC return code."""
    hresult &= 0xFFFFFFFF
    detail = f"{doing}: {scard.SCardGetErrorMessage(hresult)} (0x{hresult:08X})"
    if hresult in _SERVICE:
        return ServiceUnavailable(detail)
    if hresult in _READER:
        return ReaderUnavailable(detail)
    if hresult in _REMOVED:
        return CardRemoved(detail)
    if hresult == scard.SCARD_E_SHARING_VIOLATION:
        return CardBusy(detail)
    if hresult == scard.SCARD_E_TIMEOUT:
        return NoCard(detail)
    if hresult == scard.SCARD_E_CANCELLED:
        return Cancelled(detail)
    return CardCommunicationError(detail)


class PcscTransport:
    def __init__(self, hcard: Any, protocol: int) -> None:
        self.hcard = hcard
        self.pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else \
            scard.SCARD_PCI_T1

    def transmit(self, command: bytes) -> tuple[bytes, int]:
        hresult, response = scard.SCardTransmit(self.hcard, self.pci, list(command))
        if hresult != scard.SCARD_S_SUCCESS:
            raise error_for(hresult, "transmit")
        if not response:
            # vpcd (and some contactless readers) report a card that left the field
            # mid-command as success with nothing in it.
            raise CardRemoved("no answer from the card")
        if len(response) < 2:
            raise CardCommunicationError(f"response of {len(response)} bytes")
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]


@dataclass(frozen=True)
class ReaderState:
    name: str
    card_present: bool
    atr: bytes


class PcscCardReader:
    """One configured reader. `reader` is a name or a unique part of it ("" = the first)."""

    def __init__(self, reader: str = "", trusted: Sequence[TrustedCa] = (), *,
                 live_challenge: bool = False) -> None:
        self.reader = reader
        self.trusted = tuple(trusted)
        self.live_challenge = live_challenge
        self._context: Any = None
        self._lock = threading.Lock()

    # -- context ------------------------------------------------------------------------
    def _ctx(self) -> Any:
        with self._lock:
            if self._context is None:
                hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if hresult != scard.SCARD_S_SUCCESS:
                    raise error_for(hresult, "connecting to pcscd")
                self._context = context
            return self._context

    def _check(self, hresult: int, doing: str) -> None:
        if hresult == scard.SCARD_S_SUCCESS:
            return
        error = error_for(hresult, doing)
        if isinstance(error, ServiceUnavailable) or hresult == scard.SCARD_E_INVALID_HANDLE:
            self._drop_context()  # pcscd restarted: start afresh next time
        raise error

    def _drop_context(self) -> None:
        with self._lock:
            context, self._context = self._context, None
        if context is not None:
            scard.SCardReleaseContext(context)

    def close(self) -> None:
        self._drop_context()

    # -- readers ------------------------------------------------------------------------
    def readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self._ctx(), [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        self._check(hresult, "listing readers")
        return list(names)

    def reader_name(self) -> str:
        names = self.readers()
        if not self.reader:
            if not names:
                raise ReaderUnavailable("no reader connected")
            return names[0]
        if self.reader in names:
            return self.reader
        matches = [n for n in names if self.reader in n]
        if len(matches) != 1:
            raise ReaderUnavailable(
                f"{len(matches)} readers match {self.reader!r} (have: {', '.join(names)})")
        return matches[0]

    def states(self) -> list[ReaderState]:
        names = self.readers()
        if not names:
            return []
        hresult, states = scard.SCardGetStatusChange(
            self._ctx(), 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names])
        self._check(hresult, "reader status")
        return [ReaderState(name, bool(state & scard.SCARD_STATE_PRESENT), bytes(atr))
                for name, state, atr in states]

    # -- card ---------------------------------------------------------------------------
    def _wait(self, present: bool, timeout: float | None) -> str | None:
        name = self.reader_name()
        deadline = None if timeout is None else time.monotonic() + timeout
        known = scard.SCARD_STATE_UNAWARE
        while True:
            if deadline is None:
                wait_ms = scard.INFINITE
            else:
                wait_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(self._ctx(), wait_ms, [(name, known)])
            if hresult == scard.SCARD_E_TIMEOUT:
                return None
            self._check(hresult, "waiting for the card")
            state = states[0][1]
            if state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise ReaderUnavailable(f"{name} went away")
            is_present = bool(state & scard.SCARD_STATE_PRESENT) and \
                not state & scard.SCARD_STATE_MUTE
            if is_present == present:
                return name
            known = state & ~scard.SCARD_STATE_CHANGED

    def wait_for_card(self, timeout: float | None = None) -> CardApChannel:
        """Block until a card is on the reader, then open an exclusive session on it."""
        name = self._wait(True, timeout)
        if name is None:
            raise NoCard("no card arrived in time")
        return self.connect(name)

    def poll(self) -> CardApChannel | None:
        """A session on the card if one is on the reader now, else None. Does not block."""
        name = self._wait(True, 0)
        return self.connect(name) if name is not None else None

    def wait_for_removal(self, timeout: float | None = None) -> bool:
        """Block until the reader is empty; False if the card is still there at timeout."""
        return self._wait(False, timeout) is not None

    def card_present(self) -> bool:
        name = self.reader_name()
        return any(s.card_present for s in self.states() if s.name == name)

    def cancel(self) -> None:
        """Interrupt a wait from another thread: it raises Cancelled."""
        with self._lock:
            context = self._context
        if context is not None:
            scard.SCardCancel(context)

    def connect(self, name: str | None = None) -> CardApChannel:
        name = name or self.reader_name()
        hresult, hcard, protocol = scard.SCardConnect(
            self._ctx(), name, scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        self._check(hresult, "connecting to the card")
        hresult, _, _, _, atr = scard.SCardStatus(hcard)
        if hresult != scard.SCARD_S_SUCCESS:
            scard.SCardDisconnect(hcard, scard.SCARD_UNPOWER_CARD)
            self._check(hresult, "card status")

        def unpower() -> None:
            result = scard.SCardDisconnect(hcard, scard.SCARD_UNPOWER_CARD)
            if result != scard.SCARD_S_SUCCESS:  # a pulled card is already off
                log.debug("disconnect: %s", scard.SCardGetErrorMessage(result))

        log.info("card connected on %s", name)
        return CardApChannel(PcscTransport(hcard, protocol), self.trusted, atr=bytes(atr),
                         live_challenge=self.live_challenge, on_close=unpower)


def open_pcsc_reader(config: CardConfig) -> PcscCardReader:
    """`[card] backend = "pcsc"` (kiosk.devices): the configured reader through pcscd."""
    return PcscCardReader(config.reader, config.trusted_ca, live_challenge=config.live_challenge)
