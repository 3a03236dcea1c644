"""Stand-in for a code-payment provider (the PayPay / d払い kind of API).

    python -m hardware.payment.provider --port 0 --secret S --api-key K

prints ``PROVIDER LISTENING <port>`` once it accepts connections. The merchant API:

    POST /v1/payments            create (merchant_payment_id is the idempotency key)
    GET  /v1/payments/<id>       status, for polling
    POST /v1/payments/<id>/cancel
    GET  /v1/settlements?date=YYYY-MM-DD   the provider's own record of the day

Every status change is POSTed to the payment's ``webhook_url``, HMAC-signed
(`kiosk.domain.payment.sign_webhook`). Stand-in controls, which a real provider lacks:

    POST /_control/behaviour  {"outcome": "succeed|decline|timeout",
        "webhooks": "normal|duplicate|out_of_order|replay|bad_signature|none",
        "auto_scan_after_s": null | seconds, "expiry_s": null | seconds,
        "create_delay_s": seconds}
    POST /_control/payments/<id>/scan     the resident scans and the outcome happens now
    POST /_control/reset                  default behaviour, delivery log emptied
    GET  /_control/webhooks               every delivery made, with the answer received
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from hardware.payment import JsonHandler, arguments, serve
from kiosk.domain.payment import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    MerchantQr,
    sign_webhook,
)

log = logging.getLogger(__name__)

OUTCOMES = ("succeed", "decline", "timeout")
WEBHOOK_MODES = ("normal", "duplicate", "out_of_order", "replay", "bad_signature", "none")


@dataclass
class Payment:
    id: str
    merchant_payment_id: str
    amount: int
    currency: str
    description: str
    webhook_url: str
    created_at: float
    expires_at: float
    status: str = "created"     # created → completed / failed / canceled / expired
    qr_payload: str = ""
    updated_at: float = 0.0
    sequence: int = 0           # bumps on every change; lets a receiver order events

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["expires_at_iso"] = _iso(self.expires_at)
        out["created_at_iso"] = _iso(self.created_at)
        return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass
class Behaviour:
    outcome: str = "succeed"
    webhooks: str = "normal"
    auto_scan_after_s: float | None = None
    expiry_s: float | None = None   # overrides the requested expiry (tests of expiry)
    create_delay_s: float = 0.0     # a slow answer to "create" (webhooks may overtake it)


@dataclass
class ProviderState:
    secret: bytes
    api_key: str
    merchant_id: str = "0000000000001"
    payments: dict[str, Payment] = field(default_factory=dict)
    by_merchant_id: dict[str, str] = field(default_factory=dict)
    behaviour: Behaviour = field(default_factory=Behaviour)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    held: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    # --- payments ----------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        mpid = str(body.get("merchant_payment_id", ""))
        amount = body.get("amount")
        if not mpid or not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return 400, {"error": "merchant_payment_id and a positive integer amount required"}
        if body.get("currency", "JPY") != "JPY":
            return 400, {"error": "only JPY"}
        with self.lock:
            if mpid in self.by_merchant_id:
                existing = self.payments[self.by_merchant_id[mpid]]
                if existing.amount != amount:
                    return 409, {"error": "merchant_payment_id reused with another amount"}
                return 200, existing.public()
            now = time.time()
            expires_in = float(body.get("expires_in_s", 300))
            if self.behaviour.expiry_s is not None:
                expires_in = self.behaviour.expiry_s
            p = Payment(id="pp_" + uuid.uuid4().hex[:20], merchant_payment_id=mpid,
                        amount=amount, currency="JPY",
                        description=str(body.get("description", ""))[:100],
                        webhook_url=str(body.get("webhook_url", "")),
                        created_at=now, expires_at=now + expires_in, updated_at=now)
            p.qr_payload = MerchantQr(
                merchant_id=self.merchant_id, merchant_name=str(body.get("merchant_name",
                                                                         "WARD OFFICE"))[:25],
                merchant_city=str(body.get("merchant_city", "SAKAI"))[:15],
                postcode=str(body.get("postcode", "5900078")), amount_yen=amount,
                reference=p.id[:25], name_ja=str(body.get("merchant_name_ja", ""))[:30],
            ).payload()
            self.payments[p.id] = p
            self.by_merchant_id[mpid] = p.id
            auto = self.behaviour.auto_scan_after_s
        if auto is not None:
            threading.Timer(auto, self.scan, args=(p.id,)).start()
        threading.Timer(max(expires_in, 0) + 0.05, self.expire_if_due, args=(p.id,)).start()
        time.sleep(self.behaviour.create_delay_s)
        with self.lock:
            return 201, p.public()

    def get(self, pid: str) -> Payment | None:
        self.expire_if_due(pid)
        with self.lock:
            return self.payments.get(pid)

    def _set(self, p: Payment, status: str) -> dict[str, Any] | None:
        """Change status under the lock; return the event to deliver (or None)."""
        if p.status != "created":
            return None
        p.status = status
        p.updated_at = time.time()
        p.sequence += 1
        return {"event_id": "ev_" + uuid.uuid4().hex[:16], "type": f"payment.{status}",
                "payment": p.public()}

    def expire_if_due(self, pid: str) -> None:
        with self.lock:
            p = self.payments.get(pid)
            event = self._set(p, "expired") if p and time.time() >= p.expires_at else None
        if event and p:
            self.deliver(p, event)

    def cancel(self, pid: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            p = self.payments.get(pid)
            if p is None:
                return 404, {"error": "no such payment"}
            event = self._set(p, "canceled")
            if event is None and p.status != "canceled":
                return 409, {"error": f"payment is {p.status}", **p.public()}
        if event:
            self.deliver(p, event)
        return 200, p.public()

    def scan(self, pid: str) -> tuple[int, dict[str, Any]]:
        """The resident scans the code and confirms in their app."""
        with self.lock:
            p = self.payments.get(pid)
            if p is None:
                return 404, {"error": "no such payment"}
            outcome = self.behaviour.outcome
            pending_event = None
            if outcome == "timeout":
                return 202, p.public()  # the app never confirms: the payment will expire
            if self.behaviour.webhooks == "out_of_order" and p.status == "created":
                # A stale "created" notice, held back and delivered after the final one.
                pending_event = {"event_id": "ev_" + uuid.uuid4().hex[:16],
                                 "type": "payment.created", "payment": p.public()}
            event = self._set(p, "completed" if outcome == "succeed" else "failed")
        if event:
            # One sender thread: the stale notice really arrives after the final one.
            self.deliver(p, event, *([pending_event] if pending_event else []))
        return 200, p.public()

    def settlements(self, day: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p.public() for p in self.payments.values()
                    if _iso(p.created_at)[:10] == day]

    # --- webhooks ----------------------------------------------------------------------
    def deliver(self, p: Payment, *events: dict[str, Any]) -> None:
        mode = self.behaviour.webhooks
        if not p.webhook_url or mode == "none":
            return
        bodies = [json.dumps(e, ensure_ascii=False, sort_keys=True).encode() for e in events]
        copies = 2 if mode in ("duplicate", "replay") else 1

        def send_all() -> None:
            for body in bodies:
                self._send(p.webhook_url, body, mode, copies)

        threading.Thread(target=send_all, daemon=True).start()

    def _headers(self, body: bytes, mode: str) -> dict[str, str]:
        ts, nonce = int(time.time()), secrets.token_urlsafe(12)
        sig = sign_webhook(self.secret, ts, nonce, body)
        if mode == "bad_signature":
            sig = sign_webhook(b"not-the-secret", ts, nonce, body)
        return {"Content-Type": "application/json", TIMESTAMP_HEADER: str(ts),
                NONCE_HEADER: nonce, SIGNATURE_HEADER: sig}

    def _send(self, url: str, body: bytes, mode: str, copies: int) -> None:
        headers = self._headers(body, mode)
        for n in range(copies):
            if n and mode == "duplicate":
                headers = self._headers(body, mode)  # a retry: same event, fresh signature
            for attempt in range(3):  # retry on network errors and 5xx, like providers do
                record: dict[str, Any] = {"url": url, "body": json.loads(body), "mode": mode,
                                          "nonce": headers[NONCE_HEADER], "at": time.time()}
                try:
                    r = requests.post(url, data=body, headers=headers, timeout=5)
                    record["status"] = r.status_code
                except requests.RequestException as exc:
                    record["status"] = None
                    record["error"] = str(exc)
                with self.lock:
                    self.deliveries.append(record)
                if record["status"] is not None and record["status"] < 500:
                    break
                time.sleep(0.2 * (attempt + 1))


class Handler(JsonHandler):
    server: ProviderServer

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _authorised(self) -> bool:
        if self.path.startswith("/_control/"):
            return True
        if self.headers.get("Authorization") != f"Bearer {self.server.state.api_key}":
            self._reply(401, {"error": "bad api key"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorised():
            return
        state = self.server.state
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if parts[:2] == ["v1", "payments"] and len(parts) == 3:
            p = state.get(parts[2])
            self._reply(200, p.public()) if p else self._reply(404, {"error": "no such payment"})
        elif parts == ["v1", "settlements"]:
            day = parse_qs(url.query).get("date", [datetime.now(UTC).date().isoformat()])[0]
            self._reply(200, {"date": day, "payments": state.settlements(day)})
        elif parts == ["_control", "webhooks"]:
            with state.lock:
                self._reply(200, {"deliveries": list(state.deliveries)})
        elif parts == ["_control", "health"]:
            self._reply(200, {"ok": True})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        state = self.server.state
        parts = urlsplit(self.path).path.strip("/").split("/")
        body = self._body()
        if parts == ["v1", "payments"]:
            self._reply(*state.create(body))
        elif parts[:2] == ["v1", "payments"] and len(parts) == 4 and parts[3] == "cancel":
            self._reply(*state.cancel(parts[2]))
        elif parts == ["_control", "behaviour"]:
            b = state.behaviour
            outcome = body.get("outcome", b.outcome)
            webhooks = body.get("webhooks", b.webhooks)
            if outcome not in OUTCOMES or webhooks not in WEBHOOK_MODES:
                self._reply(400, {"error": f"outcome in {OUTCOMES}, webhooks in {WEBHOOK_MODES}"})
                return
            with state.lock:
                state.behaviour = Behaviour(
                    outcome=outcome, webhooks=webhooks,
                    auto_scan_after_s=body.get("auto_scan_after_s", b.auto_scan_after_s),
                    expiry_s=body.get("expiry_s", b.expiry_s),
                    create_delay_s=float(body.get("create_delay_s", b.create_delay_s)))
            self._reply(200, asdict(state.behaviour))
        elif parts == ["_control", "reset"]:
            with state.lock:
                state.behaviour = Behaviour()
                state.deliveries.clear()
            self._reply(200, {"ok": True})
        elif parts[:2] == ["_control", "payments"] and len(parts) == 4 and parts[3] == "scan":
            self._reply(*state.scan(parts[2]))
        else:
            self._reply(404, {"error": "not found"})


class ProviderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: ProviderState) -> None:
        super().__init__(address, Handler)
        self.state = state


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__.splitlines()[0])
    ap.add_argument("--secret", required=True, help="webhook HMAC secret")
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--auto-scan-after", type=float, default=None,
                    help="demo: every payment is scanned this many seconds after creation")
    args = ap.parse_args(argv)
    state = ProviderState(secret=args.secret.encode(), api_key=args.api_key)
    state.behaviour.auto_scan_after_s = args.auto_scan_after
    return serve(ProviderServer((args.host, args.port), state), "PROVIDER LISTENING")


if __name__ == "__main__":
    sys.exit(main())
