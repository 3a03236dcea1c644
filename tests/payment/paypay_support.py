"""The PayPay stand-in and a back-office configured for it, for tests/payment/test_paypay.py
and tests/ui/test_cashless_paypay.py."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk.payment.paypay import PayPayProvider
from tests.payment.conftest import TICKETS, OfficeApi, _spawn, _stop, issue_ticket
from tests.support.backoffice import ServerFactory


@dataclass
class PayPay:
    url: str
    api_key: str
    api_secret: str
    merchant_id: str

    def control(self, path: str, **body: Any) -> dict[str, Any]:
        r = requests.post(f"{self.url}/_control/{path}", json=body, timeout=5)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def phone(self, reference: str, outcome: str, **body: Any) -> dict[str, Any]:
        return self.control(f"codes/{reference}/{outcome}", **body)

    def sdk(self, **changes: str) -> PayPayProvider:
        return PayPayProvider(changes.get("api_key", self.api_key),
                              changes.get("api_secret", self.api_secret),
                              changes.get("merchant_id", self.merchant_id),
                              environment="standin", base_url=self.url, timeout_s=3)


@dataclass
class Office(OfficeApi):
    paypay: PayPay
    log: Any

    def ticket(self) -> int:
        procedure, choices = TICKETS[1]   # 印鑑登録証明書, 300 yen
        return int(issue_ticket(self.url, self.tokens["kiosk-kita"], procedure, choices)["id"])

    def start(self, ticket: int) -> dict[str, Any]:
        r = self.session().post(f"{self.url}/api/v1/tickets/{ticket}/payments",
                            json={"method": "code"}, timeout=30)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def payment(self, payment_id: int) -> dict[str, Any]:
        r = self.session().get(f"{self.url}/api/v1/payments/{payment_id}", timeout=10)
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result

    def events(self, payment_id: int) -> list[dict[str, Any]]:
        r = self.session("staff").get(f"{self.url}/api/v1/payments/{payment_id}/events", timeout=10)
        r.raise_for_status()
        result: list[dict[str, Any]] = r.json()
        return result

    def day_end(self) -> dict[str, Any]:
        day = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()  # the office day
        r = self.session("boss").get(f"{self.url}/api/v1/payments/reconciliation",
                                 params={"day": day}, timeout=30)
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result


@contextmanager
def paypay_office(tmp_path: Path, request: pytest.FixtureRequest,
                  database: str | None = None, **payment: Any) -> Iterator[Office]:
    """The PayPay stand-in process and a back-office process whose [payment] names it
    (provider = "paypay", environment = "standin"), credentials in its environment;
    `database` "postgres" puts the back-office on the private PostgreSQL; `payment`: more
    keys of its [payment]."""
    key, secret, merchant = (secrets.token_hex(10), secrets.token_hex(20),
                             f"M{secrets.randbelow(10**17):017d}")
    proc, port = _spawn(["hardware.payment.paypay", "--port", "0", "--api-key", key,
                         "--api-secret", secret, "--merchant-id", merchant], "PAYPAY LISTENING")
    paypay = PayPay(f"http://127.0.0.1:{port}", key, secret, merchant)
    factory = ServerFactory(tmp_path, request)
    try:
        server = factory.start(database, config={"payment": {
            "provider": "paypay", "environment": "standin", "provider_url": paypay.url,
            "code_expiry": 60, "poll_after": 0.3, **payment}}, env={
            "PAYMENT_PROVIDER_API_KEY": key, "PAYMENT_PROVIDER_API_SECRET": secret,
            "PAYMENT_PROVIDER_MERCHANT_ID": merchant})
        # PayPay's merchant panel holds the webhook URL: the stand-in is told it here.
        paypay.control("behaviour", webhook_url=f"{server.url}/api/v1/payments/webhook")
        tokens = {"kiosk-kita": server.kiosk_token, "staff": server.login("staff"),
                  "boss": server.login("supervisor")}
        yield Office(server.url, tokens, paypay, server.log_path)
    finally:
        factory.close()
        _stop(proc)
