"""Stand-in for PayPay's Open Payment API (dynamic QR), as its public docs and official
SDK (`paypayopa`) describe it, so our adapter runs through the real SDK over HTTP.

    python -m hardware.payment.paypay --port 0 --api-key K --api-secret S \
        --merchant-id M [--webhook-url URL] [--auto-pay-after 5]

prints ``PAYPAY LISTENING <port>``. The API (every call HMAC-authorised, below):

    POST   /v2/codes                           create a code (merchantPaymentId unique)
    GET    /v2/codes/payments/<merchantPaymentId>   payment details
    DELETE /v2/codes/<codeId>                  delete the code

`Authorization: hmac OPA-Auth:<apiKey>:<mac>:<nonce>:<epoch>:<bodyHash>` is checked
exactly as the SDK computes it: mac = base64(HMAC-SHA256(secret, "\\n".join([path,
method, nonce, epoch, contentType, bodyHash]))), bodyHash = base64(MD5(contentType +
body)), both "empty" without a body; the epoch within 120 s, a nonce once;
`X-ASSUME-MERCHANT` must be the merchant. Answers carry `resultInfo {code, message,
codeId}` (the codes PayPay documents; the codeId numbers are this stand-in's own).
On payment the stand-in POSTs PayPay's transaction event (unsigned, as PayPay's) to the
webhook URL set here as in PayPay's merchant panel.

The phone that scans, and the failures (controls a real PayPay lacks):

    POST /_control/codes/<merchantPaymentId>/pay    {"amount": n}? (n ≠ the code's: a
                                                     provider record of another amount)
    POST /_control/codes/<merchantPaymentId>/fail | /expire
    POST /_control/codes/<merchantPaymentId>/refund   (as in PayPay's merchant panel)
    POST /_control/behaviour {"down": bool, "delay_s": s, "webhook_copies": n,
                              "webhook_url": url}
    POST /_control/reset ; GET /_control/webhooks (deliveries) ; GET /_control/health
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

from hardware.payment import JsonHandler, arguments, serve

log = logging.getLogger(__name__)
CLOCK_SKEW_S = 120


def _info(code: str, message: str, code_id: str) -> dict[str, str]:
    return {"code": code, "message": message, "codeId": code_id}


OK = _info("SUCCESS", "Success", "08100001")
ERRORS = {  # code: (HTTP status, codeId)
    "UNAUTHORIZED": (401, "08100016"), "INVALID_REQUEST_PARAMS": (400, "08100006"),
    "DUPLICATE_DYNAMIC_QR_REQUEST": (400, "01652075"),
    "DYNAMIC_QR_NOT_FOUND": (404, "01650000"), "DYNAMIC_QR_ALREADY_PAID": (400, "01652077"),
    "DYNAMIC_QR_PAYMENT_NOT_FOUND": (404, "01652078"), "OPA_CLIENT_NOT_FOUND": (404, "08100014"),
    "SERVICE_UNAVAILABLE": (503, "08100998"),
}


def sign(secret: str, path: str, method: str, nonce: str, epoch: str, content_type: str,
         body_hash: str) -> str:
    """The SDK's `Client.auth_header` MAC (paypayopa/client.py), for the check below."""
    data = "\n".join([path, method, nonce, epoch, content_type, body_hash])
    mac = hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


@dataclass
class Code:
    code_id: str
    merchant_payment_id: str
    amount: int
    description: str
    requested_at: int
    expiry: int
    status: str = "CREATED"  # → COMPLETED / FAILED / EXPIRED; deleted unscanned: gone
    paid_amount: int = 0
    payment_id: str = ""
    accepted_at: int = 0
    deleted: bool = False

    def details(self) -> dict[str, Any]:
        return {"paymentId": self.payment_id, "status": self.status,
                "acceptedAt": self.accepted_at, "merchantPaymentId": self.merchant_payment_id,
                "amount": {"amount": self.paid_amount or self.amount, "currency": "JPY"},
                "requestedAt": self.requested_at, "expiresAt": self.expiry,
                "orderDescription": self.description, "refunds": {}, "metadata": {}}


@dataclass
class PayPayState:
    api_key: str
    api_secret: str
    merchant_id: str
    webhook_url: str = ""
    auto_pay_after: float | None = None
    codes: dict[str, Code] = field(default_factory=dict)          # by merchantPaymentId
    nonces: dict[str, float] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    delay_s: float = 0.0
    webhook_copies: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authorise(self, header: str, merchant: str, method: str, path: str,
                  content_type: str, body: bytes) -> str | None:
        """None when the request is PayPay-authorised, else the reason (logged only)."""
        prefix = "hmac OPA-Auth:"
        parts = header[len(prefix):].split(":") if header.startswith(prefix) else []
        if len(parts) != 5:
            return "malformed Authorization"
        key, mac, nonce, epoch, body_hash = parts
        if not hmac.compare_digest(key, self.api_key):
            return "unknown api key"
        if merchant != self.merchant_id:
            return "wrong X-ASSUME-MERCHANT"
        expected_hash, ctype = "empty", "empty"
        if body:
            ctype = content_type
            md5 = hashlib.md5(ctype.encode() + body, usedforsecurity=False).digest()
            expected_hash = base64.b64encode(md5).decode()
        if body_hash != expected_hash:
            return "body hash differs"
        want = sign(self.api_secret, path, method, nonce, epoch, ctype, body_hash)
        if not hmac.compare_digest(mac, want):
            return "bad signature"
        if not epoch.isdigit() or abs(time.time() - int(epoch)) > CLOCK_SKEW_S:
            return "epoch out of range"
        with self.lock:
            now = time.time()
            self.nonces = {n: t for n, t in self.nonces.items() if now - t < 2 * CLOCK_SKEW_S}
            if nonce in self.nonces:
                return "nonce reused"
            self.nonces[nonce] = now
        return None

    def create(self, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        try:
            mpid = str(body["merchantPaymentId"])
            amount = body["amount"]["amount"]
            ok = (body["amount"]["currency"] == "JPY" and body.get("codeType") == "ORDER_QR"
                  and isinstance(amount, int) and amount > 0 and 0 < len(mpid) <= 64)
        except (KeyError, TypeError):
            ok = False
        if not ok:
            return "INVALID_REQUEST_PARAMS", None
        now = int(time.time())
        with self.lock:
            if mpid in self.codes:
                return "DUPLICATE_DYNAMIC_QR_REQUEST", None
            code = Code(uuid.uuid4().hex[:20], mpid, amount, str(body.get("orderDescription", "")),
                        int(body.get("requestedAt") or now),
                        int(body.get("expiryDate") or now + 300))
            self.codes[mpid] = code
        if self.auto_pay_after is not None:
            threading.Timer(self.auto_pay_after, self.pay, (mpid, None)).start()
        url = f"https://qr.paypay.ne.jp/28180104{code.code_id}"
        return "SUCCESS", {"codeId": code.code_id, "url": url,
                           "deeplink": f"paypay://payment?link_key={code.code_id}",
                           "expiryDate": code.expiry, "merchantPaymentId": mpid,
                           "amount": {"amount": amount, "currency": "JPY"},
                           "orderDescription": code.description, "codeType": "ORDER_QR",
                           "requestedAt": code.requested_at, "isAuthorization": False}

    def _expire_due(self, code: Code) -> None:
        if code.status == "CREATED" and time.time() >= code.expiry:
            code.status = "EXPIRED"

    def details(self, mpid: str) -> tuple[str, dict[str, Any] | None]:
        with self.lock:
            code = self.codes.get(mpid)
            if code is None or code.deleted:
                return "DYNAMIC_QR_PAYMENT_NOT_FOUND", None
            self._expire_due(code)
            return "SUCCESS", code.details()

    def delete(self, code_id: str) -> str:
        with self.lock:
            code = next((c for c in self.codes.values() if c.code_id == code_id), None)
            if code is None or code.deleted:
                return "DYNAMIC_QR_NOT_FOUND"
            if code.status == "COMPLETED":
                return "DYNAMIC_QR_ALREADY_PAID"
            if code.status == "CREATED":
                code.deleted = True  # withdrawn before anyone paid: no payment exists
            return "SUCCESS"

    def scan(self, mpid: str, outcome: str, amount: int | None = None) -> tuple[int, Any]:
        """The resident's phone: pay (COMPLETED), fail (FAILED) or let it expire."""
        with self.lock:
            code = self.codes.get(mpid)
            if code is None or code.deleted:
                return 404, {"error": "no such code"}
            self._expire_due(code)
            if code.status != "CREATED":
                return 409, {"error": f"code is {code.status}"}
            code.status = {"pay": "COMPLETED", "fail": "FAILED", "expire": "EXPIRED"}[outcome]
            if outcome == "pay":
                code.payment_id = str(uuid.uuid4().int)[:19]
                code.accepted_at = int(time.time())
                code.paid_amount = amount or code.amount
            if outcome == "expire":
                code.expiry = int(time.time())
            event = self._event(code)
        if outcome != "expire":
            threading.Thread(target=self._deliver, args=(event,), daemon=True).start()
        return 200, code.details()

    def refund(self, mpid: str) -> tuple[int, Any]:
        """A refund made in PayPay's merchant panel (never by the kiosk)."""
        with self.lock:
            code = self.codes.get(mpid)
            if code is None or code.status != "COMPLETED":
                return 409, {"error": "only a completed payment can be refunded"}
            code.status = "REFUNDED"
            return 200, code.details()

    def pay(self, mpid: str, amount: int | None) -> None:
        self.scan(mpid, "pay", amount)

    def _event(self, code: Code) -> dict[str, Any]:
        return {"notification_type": "Transaction", "merchant_id": self.merchant_id,
                "store_id": None, "pos_id": None, "order_id": code.payment_id,
                "merchant_order_id": code.merchant_payment_id, "authorized_at": None,
                "expires_at": None, "paid_at": code.accepted_at or None,
                "order_amount": str(code.paid_amount or code.amount), "state": code.status}

    def _deliver(self, event: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        for _ in range(self.webhook_copies):
            record: dict[str, Any] = {"event": event, "status": None}
            try:
                r = requests.post(self.webhook_url, json=event, timeout=5)
                record["status"] = r.status_code
            except requests.RequestException as exc:
                record["status"] = f"error: {exc.__class__.__name__}"
            with self.lock:
                self.deliveries.append(record)


class Handler(JsonHandler):
    server: PayPayServer
    content_type = "application/json;charset=UTF-8"

    def _result(self, code: str, data: Any = None, ok_status: int = 200) -> None:
        status, code_id = ERRORS.get(code, (ok_status, OK["codeId"]))
        body: dict[str, Any] = {"resultInfo": _info(code, code.replace("_", " ").title(),
                                                    code_id)}
        if data is not None:
            body["data"] = data
        self._reply(status, body)

    def _handle(self, method: str) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = path.strip("/").split("/")
        if parts[0] == "_control":
            self._reply(*self._control(method, parts[1:], raw))
            return
        if state.down:
            self._result("SERVICE_UNAVAILABLE")
            return
        if state.delay_s:
            time.sleep(state.delay_s)
        why = state.authorise(self.headers.get("Authorization", ""),
                              self.headers.get("X-ASSUME-MERCHANT", ""), method, path,
                              self.headers.get("Content-Type", ""), raw)
        if why is not None:
            log.info("paypay: refused %s %s: %s", method, path, why)
            self._result("OPA_CLIENT_NOT_FOUND" if why == "wrong X-ASSUME-MERCHANT"
                         else "UNAUTHORIZED")
            return
        if method == "POST" and parts == ["v2", "codes"]:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            code, data = state.create(body if isinstance(body, dict) else {})
            self._result(code, data, ok_status=201)
        elif method == "GET" and parts[:3] == ["v2", "codes", "payments"] and len(parts) == 4:
            self._result(*state.details(parts[3]))
        elif method == "DELETE" and parts[:2] == ["v2", "codes"] and len(parts) == 3:
            self._result(state.delete(parts[2]))
        else:
            self._result("INVALID_REQUEST_PARAMS")

    def _control(self, method: str, parts: list[str], raw: bytes) -> tuple[int, Any]:
        state = self.server.state
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"error": "not JSON"}
        if method == "GET" and parts == ["webhooks"]:
            with state.lock:
                return 200, {"deliveries": list(state.deliveries)}
        if method == "GET" and parts == ["health"]:
            return 200, {"ok": True}
        if method == "POST" and parts == ["behaviour"]:
            state.down = bool(body.get("down", state.down))
            state.delay_s = float(body.get("delay_s", state.delay_s))
            state.webhook_copies = int(body.get("webhook_copies", state.webhook_copies))
            state.webhook_url = str(body.get("webhook_url", state.webhook_url))
            return 200, {"down": state.down, "delay_s": state.delay_s,
                         "webhook_copies": state.webhook_copies,
                         "webhook_url": state.webhook_url}
        if method == "POST" and parts == ["reset"]:
            with state.lock:
                state.down, state.delay_s, state.webhook_copies = False, 0.0, 1
                state.deliveries.clear()
            return 200, {"ok": True}
        if (method == "POST" and len(parts) == 3 and parts[0] == "codes"
                and parts[2] in ("pay", "fail", "expire")):
            return state.scan(parts[1], parts[2], body.get("amount"))
        if method == "POST" and len(parts) == 3 and parts[0] == "codes" and parts[2] == "refund":
            return state.refund(parts[1])
        return 404, {"error": "not found"}

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class PayPayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: PayPayState) -> None:
        super().__init__(address, Handler)
        self.state = state


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__.splitlines()[0])
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--api-secret", required=True)
    ap.add_argument("--merchant-id", required=True)
    ap.add_argument("--webhook-url", default="", help="as set in PayPay's merchant panel")
    ap.add_argument("--auto-pay-after", type=float, default=None,
                    help="demo: every code is paid this many seconds after creation")
    args = ap.parse_args(argv)
    state = PayPayState(args.api_key, args.api_secret, args.merchant_id, args.webhook_url,
                        args.auto_pay_after)
    return serve(PayPayServer((args.host, args.port), state), "PAYPAY LISTENING")


if __name__ == "__main__":
    sys.exit(main())
