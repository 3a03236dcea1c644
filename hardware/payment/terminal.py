"""Stand-in for a nexo-style payment terminal (card / e-money) on TCP.

    python -m hardware.payment.terminal --port 0 [--poi-id T-001] [--key-file KEY]

prints ``TERMINAL LISTENING <port>``. One JSON message per line, shaped like nexo retailer
messages: ``{"MessageHeader": {...}, "PaymentRequest": {...}}``. Requests it understands:

- Payment: ``SaleID``, ``ServiceID``, ``SaleTransactionID`` {TransactionID, TimeStamp},
  ``RequestedAmount`` (yen) → ``PaymentResponse`` with ``Result`` Success / Failure,
  ``ErrorCondition`` (Refusal, Aborted, Busy), ``POITransactionID`` and the amount.
- Abort: ``MessageReference.ServiceID`` of the payment in progress → that payment ends
  Failure/Aborted (unless it already finished).
- TransactionStatus: ``MessageReference.ServiceID`` → the stored result of that payment,
  or InProgress / NotFound — how a sale system recovers after a lost connection.
- Reconciliation: ``ReconciliationRequest`` {ReconciliationType: SaleReconciliation}
  → ``ReconciliationResponse`` with the day's totals and, as real terminals export it for
  the acquirer, the journal (``TransactionJournal``: one entry per ServiceID with
  status, amount, POITransactionID and time) — what the back-office reconciles against.
- Proof: every PaymentResponse of a finished payment carries ``SecurityTrailer`` {MACAlgorithm
  HMAC-SHA256, MAC}: the terminal's HMAC over its POIID, the ServiceID, Result, amount,
  POITransactionID and TimeStamp (`kiosk.domain.payment.TerminalReceipt`), with the key
  from ``--key-file`` (hex; the key the back-office registered for this terminal). Without
  a key the terminal answers unsigned, and the back-office will not take it as paid.
- Control (stand-in only): ``{"Control": {"outcome": ..., "delay_s": ...}}`` and
  ``{"Control": {"journal": true}}``.

Outcomes: succeed, decline, timeout (never answers), disconnect (closes the connection
mid-payment; ``disconnect_then`` says whether the payment went through: paid / failed).
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hardware.payment import arguments, serve
from kiosk.domain.payment import TerminalReceipt

log = logging.getLogger(__name__)

OUTCOMES = ("succeed", "decline", "timeout", "disconnect")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Transaction:
    service_id: str
    sale_id: str
    sale_transaction_id: str
    amount: int
    status: str = "InProgress"     # InProgress → Success / Failure
    error: str = ""
    poi_transaction_id: str = ""
    timestamp: str = ""


@dataclass
class Behaviour:
    outcome: str = "succeed"
    delay_s: float = 0.3           # the resident holding the card to the reader
    disconnect_then: str = "paid"  # what happened to a payment whose connection dropped


@dataclass
class TerminalState:
    poi_id: str
    key: bytes = field(default=b"", repr=False)
    behaviour: Behaviour = field(default_factory=Behaviour)
    journal: dict[str, Transaction] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    aborts: dict[str, threading.Event] = field(default_factory=dict)
    status: str = "OK"             # Diagnosis's GlobalStatus: OK, Busy, Maintenance, …


def _header(category: str, request: dict[str, Any], poi_id: str) -> dict[str, Any]:
    return {"MessageClass": "Service", "MessageCategory": category, "MessageType": "Response",
            "ServiceID": request.get("ServiceID", ""), "SaleID": request.get("SaleID", ""),
            "POIID": poi_id}


class Handler(socketserver.StreamRequestHandler):
    server: TerminalServer

    def send(self, message: dict[str, Any]) -> None:
        with self.write_lock:
            self.wfile.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
            self.wfile.flush()

    def handle(self) -> None:
        self.write_lock = threading.Lock()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # One reader; a payment runs in its own thread so an Abort can still arrive.
        for line in self.rfile:
            try:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.send({"Error": "malformed message"})
                continue
            if not self.dispatch(message):
                return

    def dispatch(self, message: dict[str, Any]) -> bool:
        """Handle one message; False closes the connection."""
        state = self.server.state
        head = message.get("MessageHeader", {})
        if "Control" in message:
            return self.control(message["Control"])
        category = head.get("MessageCategory")
        if category == "Payment":
            threading.Thread(target=self.payment, daemon=True,
                             args=(head, message.get("PaymentRequest", {}))).start()
            return True
        if category == "Abort":
            ref = message.get("AbortRequest", {}).get("MessageReference", {})
            event = state.aborts.get(ref.get("ServiceID", ""))
            if event:
                event.set()
            return True  # nexo: an abort gets no response of its own
        if category == "TransactionStatus":
            ref = message.get("TransactionStatusRequest", {}).get("MessageReference", {})
            with state.lock:
                tx = state.journal.get(ref.get("ServiceID", ""))
            response: dict[str, Any] = {"Response": {"Result": "Success"}}
            if tx is None:
                response = {"Response": {"Result": "Failure", "ErrorCondition": "NotFound"}}
            elif tx.status == "InProgress":
                response = {"Response": {"Result": "Failure", "ErrorCondition": "InProgress"}}
            else:
                response["RepeatedMessageResponse"] = {"PaymentResponse": _payment_response(
                    tx, state)}
            self.send({"MessageHeader": _header("TransactionStatus", head, state.poi_id),
                       "TransactionStatusResponse": response})
            return True
        if category == "Diagnosis":   # nexo: is the terminal there and usable?
            self.send({"MessageHeader": _header("Diagnosis", head, state.poi_id),
                       "DiagnosisResponse": {"Response": {"Result": "Success"},
                                             "POIStatus": {"GlobalStatus": state.status}}})
            return True
        if category == "Reconciliation":
            self.send({"MessageHeader": _header("Reconciliation", head, state.poi_id),
                       "ReconciliationResponse": self.reconciliation()})
            return True
        self.send({"Error": f"unknown message category {category!r}"})
        return True

    def reconciliation(self) -> dict[str, Any]:
        state = self.server.state
        with state.lock:
            journal = [asdict(t) for t in state.journal.values()]
        paid = [t for t in journal if t["status"] == "Success"]
        return {"Response": {"Result": "Success"},
                "ReconciliationType": "SaleReconciliation", "POIID": state.poi_id,
                "TransactionTotals": {"TransactionCount": len(paid),
                                      "TotalAmount": sum(t["amount"] for t in paid),
                                      "Currency": "JPY"},
                "TransactionJournal": journal}

    def control(self, ctl: dict[str, Any]) -> bool:
        state = self.server.state
        if ctl.get("journal"):
            with state.lock:
                self.send({"Journal": [asdict(t) for t in state.journal.values()]})
            return True
        if "status" in ctl:         # what Diagnosis answers (a terminal in maintenance)
            state.status = str(ctl["status"])
            self.send({"Status": state.status})
            return True
        b = state.behaviour
        outcome = ctl.get("outcome", b.outcome)
        if outcome not in OUTCOMES:
            self.send({"Error": f"outcome must be one of {OUTCOMES}"})
            return True
        state.behaviour = Behaviour(outcome=outcome, delay_s=float(ctl.get("delay_s", b.delay_s)),
                                    disconnect_then=ctl.get("disconnect_then", b.disconnect_then))
        self.send({"Behaviour": asdict(state.behaviour)})
        return True

    def payment(self, head: dict[str, Any], req: dict[str, Any]) -> None:
        state = self.server.state
        service_id = str(head.get("ServiceID", ""))
        sale_tx = req.get("SaleData", {}).get("SaleTransactionID", {})
        amount = req.get("PaymentTransaction", {}).get("AmountsReq", {}).get("RequestedAmount")
        if not service_id or not isinstance(amount, int) or amount <= 0:
            self.send({"MessageHeader": _header("Payment", head, state.poi_id),
                       "PaymentResponse": {"Response": {"Result": "Failure",
                                                        "ErrorCondition": "MessageFormat"}}})
            return
        with state.lock:
            if service_id in state.journal:
                # A repeated request must not charge twice: answer with what happened.
                tx = state.journal[service_id]
                busy = tx.status == "InProgress"
            else:
                busy = any(t.status == "InProgress" for t in state.journal.values())
                tx = Transaction(service_id=service_id, sale_id=str(head.get("SaleID", "")),
                                 sale_transaction_id=str(sale_tx.get("TransactionID", "")),
                                 amount=amount)
                if not busy:
                    state.journal[service_id] = tx
            behaviour = state.behaviour
        if busy:
            self.send({"MessageHeader": _header("Payment", head, state.poi_id),
                       "PaymentResponse": {"Response": {"Result": "Failure",
                                                        "ErrorCondition": "Busy"}}})
            return
        if tx.status != "InProgress":
            self.send({"MessageHeader": _header("Payment", head, state.poi_id),
                       "PaymentResponse": _payment_response(tx, state)})
            return
        abort = state.aborts.setdefault(service_id, threading.Event())
        if behaviour.outcome == "disconnect":
            time.sleep(behaviour.delay_s)
            self._finish(tx, "Success" if behaviour.disconnect_then == "paid" else "Failure",
                         "" if behaviour.disconnect_then == "paid" else "Aborted")
            try:  # the line drops before the answer gets out
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if behaviour.outcome == "timeout":
            abort.wait(3600)  # never answers unless aborted
        else:
            abort.wait(behaviour.delay_s)
        if abort.is_set():
            self._finish(tx, "Failure", "Aborted")
        elif behaviour.outcome == "succeed":
            self._finish(tx, "Success", "")
        else:
            self._finish(tx, "Failure", "Refusal")
        try:
            self.send({"MessageHeader": _header("Payment", head, state.poi_id),
                       "PaymentResponse": _payment_response(tx, state)})
        except (OSError, ValueError):
            log.info("terminal: connection gone before the answer to %s", service_id)

    def _finish(self, tx: Transaction, result: str, error: str) -> None:
        with self.server.state.lock:
            if tx.status != "InProgress":
                return
            tx.status = result
            tx.error = error
            tx.poi_transaction_id = "poi_" + uuid.uuid4().hex[:16]
            tx.timestamp = _now_iso()


def _payment_response(tx: Transaction, state: TerminalState) -> dict[str, Any]:
    response: dict[str, Any] = {"Result": tx.status}
    if tx.error:
        response["ErrorCondition"] = tx.error
    authorized = tx.amount if tx.status == "Success" else 0
    signed: dict[str, Any] = {}
    if state.key:
        receipt = TerminalReceipt(state.poi_id, tx.service_id, tx.status, authorized,
                                  tx.poi_transaction_id, tx.timestamp)
        signed = {"SecurityTrailer": {"MACAlgorithm": "HMAC-SHA256",
                                      "MAC": receipt.sign(state.key)}}
    return {**signed, "Response": response,
            "SaleData": {"SaleTransactionID": {"TransactionID": tx.sale_transaction_id}},
            "POIData": {"POITransactionID": {"TransactionID": tx.poi_transaction_id,
                                             "TimeStamp": tx.timestamp}},
            "PaymentResult": {"AmountsResp": {"AuthorizedAmount": authorized,
                                              "Currency": "JPY"}}}


class TerminalServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: TerminalState) -> None:
        super().__init__(address, Handler)
        self.state = state


def main(argv: list[str] | None = None) -> int:
    ap = arguments("nexo-style payment terminal stand-in")
    ap.add_argument("--poi-id", default="T-001")
    ap.add_argument("--key-file", help="the terminal's key, hex (never on the command line)")
    args = ap.parse_args(argv)
    key = bytes.fromhex(Path(args.key_file).read_text().strip()) if args.key_file else b""
    server = TerminalServer((args.host, args.port), TerminalState(poi_id=args.poi_id, key=key))
    return serve(server, "TERMINAL LISTENING")


if __name__ == "__main__":
    sys.exit(main())
