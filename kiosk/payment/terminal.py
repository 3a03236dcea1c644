"""Payment terminals: the interface, and the adapter for a nexo-style terminal over TCP.

One payment = one PaymentRequest with our ServiceID (unique per attempt), SaleID (the
kiosk) and SaleTransactionID (our payment id + time). The terminal answers Success or
Failure. If we give up waiting we send an Abort; if the line drops we reconnect and ask
TransactionStatus — a payment the terminal took must never be reported as failed.
The terminal's proof (its id and the MAC of its SecurityTrailer) is carried through
untouched: only the back-office holds the terminal's key and checks it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.domain.payment import PaymentState

if TYPE_CHECKING:
    from kiosk.payment.config import TerminalSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TerminalResult:
    state: PaymentState          # PAID, FAILED, CANCELED — or PENDING when unknown
    amount_yen: int = 0
    transaction_id: str = ""     # the terminal's (POI) transaction id
    timestamp: str = ""
    error: str = ""              # Refusal, Aborted, Busy, Timeout, Unreachable, Unknown…
    terminal_id: str = ""        # the terminal's POIID, as it answered
    mac: str = ""                # the terminal's HMAC over its answer (SecurityTrailer)


class PaymentTerminal(Protocol):
    def pay(self, service_id: str, sale_transaction_id: str, amount_yen: int,
            cancel: threading.Event) -> TerminalResult: ...


class TerminalError(OSError):
    pass


class NexoTcpTerminal:
    """Newline-delimited JSON nexo messages over TCP (the stand-in speaks the same)."""

    def __init__(self, host: str, port: int, *, sale_id: str, timeout_s: float = 90.0,
                 connect_timeout_s: float = 3.0, recover_s: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sale_id = sale_id
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.recover_s = recover_s

    # --- wire -------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), self.connect_timeout_s)
        except OSError as exc:
            raise TerminalError(f"terminal unreachable at {self.host}:{self.port}: {exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _header(self, category: str, service_id: str) -> dict[str, Any]:
        return {"ProtocolVersion": "3.1", "MessageClass": "Service",
                "MessageCategory": category, "MessageType": "Request",
                "ServiceID": service_id, "SaleID": self.sale_id}

    @staticmethod
    def _send(sock: socket.socket, message: dict[str, Any]) -> None:
        sock.sendall(json.dumps(message, ensure_ascii=False).encode() + b"\n")

    @staticmethod
    def _read_line(sock: socket.socket, buffer: bytearray, deadline: float,
                   cancel: threading.Event | None = None) -> dict[str, Any] | None:
        """One message, or None at the deadline / on cancel. Raises on a dropped line."""
        while b"\n" not in buffer:
            if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                return None
            sock.settimeout(min(0.1, max(deadline - time.monotonic(), 0.001)))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise TerminalError("terminal closed the connection")
            buffer += chunk
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        data = json.loads(line)
        return data if isinstance(data, dict) else {}

    # --- the payment --------------------------------------------------------------------
    def pay(self, service_id: str, sale_transaction_id: str, amount_yen: int,
            cancel: threading.Event) -> TerminalResult:
        try:
            sock = self._connect()
        except TerminalError as exc:
            log.warning("%s", exc)
            return TerminalResult(PaymentState.FAILED, error="Unreachable")
        buffer = bytearray()
        try:
            self._send(sock, {
                "MessageHeader": self._header("Payment", service_id),
                "PaymentRequest": {
                    "SaleData": {"SaleTransactionID": {
                        "TransactionID": sale_transaction_id,
                        "TimeStamp": datetime.now(UTC).isoformat(timespec="milliseconds")}},
                    "PaymentTransaction": {"AmountsReq": {"Currency": "JPY",
                                                          "RequestedAmount": amount_yen}}}})
            deadline = time.monotonic() + self.timeout_s
            message = self._read_line(sock, buffer, deadline, cancel)
            if message is None:
                # Resident canceled, or the terminal never answered: abort, then listen
                # briefly for the terminal's own final answer to the payment.
                reason = "Canceled" if cancel.is_set() else "Timeout"
                self._send(sock, {"MessageHeader": self._header("Abort", service_id),
                                  "AbortRequest": {"MessageReference": {
                                      "MessageCategory": "Payment", "ServiceID": service_id,
                                      "SaleID": self.sale_id}, "AbortReason": reason}})
                message = self._read_line(sock, buffer, time.monotonic() + 3.0)
                if message is None:
                    return self.recover(service_id, reason)
                result = self._result(message)
                if result.state is PaymentState.FAILED and result.error == "Aborted":
                    state = PaymentState.CANCELED if reason == "Canceled" else PaymentState.FAILED
                    return TerminalResult(state, error=reason)
                return result
            return self._result(message)
        except (OSError, ValueError) as exc:
            log.warning("terminal connection lost during payment %s: %s", service_id, exc)
            return self.recover(service_id, "Disconnected")
        finally:
            sock.close()

    def recover(self, service_id: str, why: str) -> TerminalResult:
        """Ask the terminal what became of a payment after losing the line."""
        deadline = time.monotonic() + self.recover_s
        while time.monotonic() < deadline:
            try:
                result = self.transaction_status(service_id)
            except (OSError, ValueError) as exc:
                log.info("terminal status for %s not yet available: %s", service_id, exc)
                result = None
            if result is not None and result.state is not PaymentState.PENDING:
                return result
            time.sleep(0.3)
        # Nobody knows: leave it pending so the counter settles it with the terminal slip.
        return TerminalResult(PaymentState.PENDING, error=f"Unknown after {why}")

    def transaction_status(self, service_id: str) -> TerminalResult | None:
        sock = self._connect()
        try:
            self._send(sock, {"MessageHeader": self._header("TransactionStatus", service_id),
                              "TransactionStatusRequest": {"MessageReference": {
                                  "MessageCategory": "Payment", "ServiceID": service_id,
                                  "SaleID": self.sale_id}}})
            message = self._read_line(sock, bytearray(), time.monotonic() + 3.0)
        finally:
            sock.close()
        if message is None:
            return None
        response = message.get("TransactionStatusResponse", {})
        outcome = response.get("Response", {})
        if outcome.get("Result") != "Success":
            if outcome.get("ErrorCondition") == "NotFound":
                # The request never reached the terminal: nothing was charged.
                return TerminalResult(PaymentState.FAILED, error="NotFound")
            return TerminalResult(PaymentState.PENDING, error=str(outcome.get("ErrorCondition")))
        return self._result({**message, "PaymentResponse": response.get(
            "RepeatedMessageResponse", {}).get("PaymentResponse", {})})

    def diagnosis(self) -> str:
        """Is the terminal there (nexo Diagnosis, a few seconds at most)? The kiosk's
        health word: "ok", "offline" (no answer), or the terminal's own GlobalStatus in
        lower case (e.g. "maintenance"). Asked only between visits, never mid-payment."""
        try:
            sock = self._connect()
        except TerminalError:
            return "offline"
        try:
            self._send(sock, {"MessageHeader": self._header("Diagnosis", ""),
                              "DiagnosisRequest": {"HostDiagnosisFlag": False}})
            message = self._read_line(sock, bytearray(),
                                      time.monotonic() + self.connect_timeout_s)
        except (OSError, ValueError):
            return "offline"
        finally:
            sock.close()
        status = str((message or {}).get("DiagnosisResponse", {}).get("POIStatus", {})
                      .get("GlobalStatus", "")).lower()
        return "ok" if status in ("ok", "busy") else (status or "offline")

    def journal(self) -> dict[str, Any]:
        """The terminal's journal (nexo Reconciliation, SaleReconciliation), shaped as the
        back-office's journal upload takes it: ``{"poi_id", "transactions": [...]}``."""
        sock = self._connect()
        try:
            self._send(sock, {"MessageHeader": self._header("Reconciliation", ""),
                              "ReconciliationRequest": {
                                  "ReconciliationType": "SaleReconciliation"}})
            message = self._read_line(sock, bytearray(), time.monotonic() + 10.0)
        finally:
            sock.close()
        response = (message or {}).get("ReconciliationResponse", {})
        if response.get("Response", {}).get("Result") != "Success":
            raise TerminalError(f"terminal gave no journal: {message!r:.200}")
        transactions = response.get("TransactionJournal")
        if not isinstance(transactions, list):
            raise TerminalError("terminal journal has no TransactionJournal list")
        return {"poi_id": str(response.get("POIID", "")), "transactions": transactions}

    @staticmethod
    def _result(message: dict[str, Any]) -> TerminalResult:
        """A PaymentResponse message → our result, with the terminal's proof as it came."""
        response = message.get("PaymentResponse", {})
        outcome = response.get("Response", {})
        poi = response.get("POIData", {}).get("POITransactionID", {})
        amount = response.get("PaymentResult", {}).get("AmountsResp", {}).get(
            "AuthorizedAmount", 0)
        paid = outcome.get("Result") == "Success"
        return TerminalResult(
            PaymentState.PAID if paid else PaymentState.FAILED,
            amount_yen=int(amount) if paid else 0,
            transaction_id=str(poi.get("TransactionID", "")),
            timestamp=str(poi.get("TimeStamp", "")),
            error="" if paid else str(outcome.get("ErrorCondition", "Unknown")),
            terminal_id=str(message.get("MessageHeader", {}).get("POIID", "")),
            mac=str(response.get("SecurityTrailer", {}).get("MAC", "")))


def open_nexo_terminal(t: TerminalSettings) -> NexoTcpTerminal:
    """`[kiosk.terminal] kind = "nexo"` (kiosk.devices, kind "payment_terminal")."""
    return NexoTcpTerminal(t.host, t.port, sale_id=t.sale_id, timeout_s=t.timeout,
                           recover_s=t.recover)


def open_terminal(t: TerminalSettings) -> PaymentTerminal | None:
    """The terminal `kind` names in the device registry; None for kind = "none"."""
    if t.kind == "none":
        return None
    from kiosk.devices import registry

    terminal: PaymentTerminal = registry().factory(
        "payment_terminal", t.kind, key="payment.terminal.kind")(t)
    return terminal
