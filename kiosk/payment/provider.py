"""Code-payment providers: the interface, and the adapter over HTTP (requests).

The back-office is the only caller — it holds the API key and decides the amount; the
kiosk never talks to a provider. A provider's own states map onto ours:
created → pending (the code is on screen), completed → paid, failed, canceled, expired.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import requests

from kiosk.domain.payment import PaymentState

log = logging.getLogger(__name__)

_STATES = {"created": PaymentState.PENDING, "completed": PaymentState.PAID,
           "failed": PaymentState.FAILED, "canceled": PaymentState.CANCELED,
           "expired": PaymentState.EXPIRED}


class ProviderError(RuntimeError):
    """The provider could not be reached or refused the request."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ProviderPayment:
    provider_id: str
    merchant_payment_id: str
    amount_yen: int
    state: PaymentState
    qr_payload: str
    expires_at: float      # epoch seconds
    sequence: int = 0      # the provider's change counter: orders webhooks
    created_at: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProviderPayment:
        try:
            return cls(provider_id=str(data["id"]),
                       merchant_payment_id=str(data["merchant_payment_id"]),
                       amount_yen=int(data["amount"]), state=_STATES[data["status"]],
                       qr_payload=str(data.get("qr_payload", "")),
                       expires_at=float(data["expires_at"]),
                       sequence=int(data.get("sequence", 0)),
                       created_at=float(data.get("created_at", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"unexpected provider answer: {exc!r}", retryable=False) from None


class CodePaymentProvider(Protocol):
    def create(self, merchant_payment_id: str, amount_yen: int, description: str,
               expires_in_s: int, webhook_url: str) -> ProviderPayment: ...

    def status(self, provider_id: str) -> ProviderPayment: ...

    def cancel(self, provider_id: str) -> ProviderPayment: ...

    def settlements(self, day: date, references: tuple[str, ...] = ()) -> list[ProviderPayment]:
        """The provider's record of the day; `references`: our code payments of that day,
        for a provider that can only be asked payment by payment (PayPay)."""


class HttpCodePaymentProvider:
    """A provider's merchant REST API. `create` is safe to retry: our payment id is the
    provider's idempotency key, so a retried create cannot charge twice."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 5.0,
                 merchant: dict[str, str] | None = None, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.merchant = merchant or {}
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> dict[str, Any]:
        last: ProviderError | None = None
        for attempt in range(self.retries + 1):
            try:
                r = self.session.request(method, self.base_url + path, json=body, params=params,
                                         timeout=self.timeout_s)
            except requests.RequestException as exc:
                last = ProviderError(f"provider unreachable: {exc.__class__.__name__}",
                                     retryable=True)
                log.warning("provider %s %s failed (attempt %d): %s", method, path,
                            attempt + 1, exc.__class__.__name__)
                continue
            if r.status_code >= 500:
                last = ProviderError(f"provider error {r.status_code}", retryable=True)
                continue
            try:
                data = r.json()
            except ValueError:
                raise ProviderError(f"provider sent non-JSON ({r.status_code})",
                                    retryable=False) from None
            if r.status_code >= 400:
                raise ProviderError(f"provider refused ({r.status_code}): "
                                    f"{data.get('error', '')}", retryable=False)
            if not isinstance(data, dict):
                raise ProviderError("provider sent a non-object", retryable=False)
            return data
        assert last is not None
        raise last

    def create(self, merchant_payment_id: str, amount_yen: int, description: str,
               expires_in_s: int, webhook_url: str) -> ProviderPayment:
        body: dict[str, Any] = {"merchant_payment_id": merchant_payment_id, "amount": amount_yen,
                                "currency": "JPY", "description": description,
                                "expires_in_s": expires_in_s, "webhook_url": webhook_url}
        body.update(self.merchant)
        return ProviderPayment.from_json(self._call("POST", "/v1/payments", body))

    def status(self, provider_id: str) -> ProviderPayment:
        return ProviderPayment.from_json(self._call("GET", f"/v1/payments/{provider_id}"))

    def cancel(self, provider_id: str) -> ProviderPayment:
        try:
            return ProviderPayment.from_json(
                self._call("POST", f"/v1/payments/{provider_id}/cancel"))
        except ProviderError as exc:
            if exc.retryable:
                raise
            # 409: already final (paid a moment ago, expired…) — report what it is.
            return self.status(provider_id)

    def settlements(self, day: date, references: tuple[str, ...] = ()) -> list[ProviderPayment]:
        data = self._call("GET", "/v1/settlements", params={"date": day.isoformat()})
        return [ProviderPayment.from_json(p) for p in data.get("payments", [])]
