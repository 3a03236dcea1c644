"""PayPay (Open Payment API, dynamic QR) behind the `CodePaymentProvider` interface, on
PayPay's own SDK (`paypayopa`).

One merchant-presented code per attempt: `merchantPaymentId` = our reference (unique per
attempt, so a retried create is refused as DUPLICATE_DYNAMIC_QR_REQUEST, never charged
twice), the amount = the ticket's fee, `expiryDate` = now + the configured expiry. The
state is read with "get payment details" (`/v2/codes/payments/{merchantPaymentId}`); a
code is withdrawn with "delete QR code" (`DELETE /v2/codes/{codeId}`). No refunds here.

Our `provider_id` for a PayPay attempt is ``"<codeId>/<merchantPaymentId>"``: the two
keys PayPay's calls need, so any back-office process can poll or cancel without state.
The API key, secret and merchant id are the back-office's, from env vars; the SDK signs
each request with them (HMAC "OPA-Auth") and nothing here logs them.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from datetime import date
from typing import Any

import requests

with warnings.catch_warnings():
    # The SDK imports pkg_resources (for its version only), which warns of its removal.
    warnings.simplefilter("ignore", UserWarning)
    import paypayopa

from kiosk.domain.payment import PaymentState
from kiosk.payment.provider import ProviderError, ProviderPayment

log = logging.getLogger(__name__)

#: PayPay's payment statuses → ours. CREATED: the code is shown, nobody paid yet.
#: REFUNDED (done in PayPay's merchant panel, never here) counts as not paid: the
#: day-end flags it against our "paid", and nothing leaves "paid" by itself.
STATES = {"CREATED": PaymentState.PENDING, "AUTHORIZED": PaymentState.PENDING,
          "REAUTHORIZING": PaymentState.PENDING, "COMPLETED": PaymentState.PAID,
          "FAILED": PaymentState.FAILED, "CANCELED": PaymentState.CANCELED,
          "EXPIRED": PaymentState.EXPIRED, "REFUNDED": PaymentState.CANCELED}
#: resultInfo codes meaning "the code is gone already" on delete: read the state instead.
_GONE = {"DYNAMIC_QR_NOT_FOUND", "DYNAMIC_QR_ALREADY_PAID", "EXPIRED_DYNAMIC_QR",
         "CODE_NOT_FOUND", "ORDER_NOT_REVERSIBLE"}
#: codes worth trying again later (PayPay: "please retry" / system errors).
_RETRYABLE = {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "RATE_LIMIT",
              "TRANSACTION_TIMEOUT", "TIMEOUT"}
SANDBOX = "sandbox"
PRODUCTION = "production"


def split_id(provider_id: str) -> tuple[str, str]:
    code_id, _, merchant_payment_id = provider_id.partition("/")
    if not code_id or not merchant_payment_id:
        raise ProviderError(f"not a PayPay payment id: {provider_id[:40]!r}", retryable=False)
    return code_id, merchant_payment_id


class PayPayProvider:
    """`environment`: "sandbox" or "production" (the SDK's own base URLs); `base_url`
    overrides both (the stand-in, `hardware.payment.paypay`)."""

    def __init__(self, api_key: str, api_secret: str, merchant_id: str, *,
                 environment: str = SANDBOX, base_url: str = "",
                 timeout_s: float = 5.0) -> None:
        options: dict[str, Any] = {"base_url": base_url.rstrip("/")} if base_url else {}
        self.client = paypayopa.Client(auth=(api_key, api_secret),
                                       production_mode=environment == PRODUCTION, **options)
        self.client.set_assume_merchant(merchant_id)
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never the credentials
        return f"PayPayProvider({self.client.base_url})"

    def _call(self, what: str, fn: Any, *args: Any, ok: tuple[str, ...] = ("SUCCESS",),
              ) -> dict[str, Any]:
        try:
            answer = fn(*args, timeout=self.timeout_s)
        except requests.RequestException as exc:
            log.warning("PayPay %s: not reachable (%s)", what, exc.__class__.__name__)
            raise ProviderError(f"PayPay unreachable: {exc.__class__.__name__}",
                                retryable=True) from None
        except (ValueError, KeyError, TypeError) as exc:
            # The SDK reads resultInfo from any answer: a proxy's HTML page ends here.
            raise ProviderError(f"PayPay sent an unexpected answer ({exc.__class__.__name__})",
                                retryable=True) from None
        info = answer.get("resultInfo") if isinstance(answer, dict) else None
        code = str((info or {}).get("code", ""))
        if code not in ok:
            log.warning("PayPay %s refused: %s (%s)", what, code, (info or {}).get("codeId"))
            raise ProviderError(f"PayPay {what}: {code or 'no resultInfo'}",
                                retryable=code in _RETRYABLE or not code)
        return answer

    def create(self, merchant_payment_id: str, amount_yen: int, description: str,
               expires_in_s: int, webhook_url: str) -> ProviderPayment:
        """`webhook_url` is set in PayPay's merchant panel, not per request: unused."""
        now = int(time.time())
        body = {"merchantPaymentId": merchant_payment_id,
                "amount": {"amount": int(amount_yen), "currency": "JPY"},
                "codeType": "ORDER_QR", "orderDescription": description[:255],
                "isAuthorization": False, "requestedAt": now,
                "expiryDate": now + int(expires_in_s)}
        data = self._call("create code", self.client.Code.create_qr_code, body)["data"]
        try:
            return ProviderPayment(
                provider_id=f"{data['codeId']}/{merchant_payment_id}",
                merchant_payment_id=merchant_payment_id,
                amount_yen=int(data["amount"]["amount"]), state=PaymentState.PENDING,
                # What the kiosk shows: PayPay's code URL is the QR content its app reads.
                qr_payload=str(data["url"]), expires_at=float(data["expiryDate"]),
                created_at=float(now))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"unexpected PayPay answer: {exc!r}", retryable=False) from None

    def details(self, merchant_payment_id: str, code_id: str = "") -> ProviderPayment:
        data = self._call("payment details", self.client.Code.get_payment_details,
                          merchant_payment_id)["data"]
        try:
            status = str(data["status"])
            return ProviderPayment(
                provider_id=f"{code_id}/{merchant_payment_id}" if code_id else "",
                merchant_payment_id=str(data["merchantPaymentId"]),
                amount_yen=int(data["amount"]["amount"]), state=STATES[status],
                qr_payload="", expires_at=float(data.get("expiresAt") or 0),
                # PayPay's states only move forward: their rank orders late answers.
                sequence=list(STATES).index(status),
                created_at=float(data.get("requestedAt") or 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"unexpected PayPay answer: {exc!r}", retryable=False) from None

    def status(self, provider_id: str) -> ProviderPayment:
        code_id, merchant_payment_id = split_id(provider_id)
        return self.details(merchant_payment_id, code_id)

    def cancel(self, provider_id: str) -> ProviderPayment:
        """Withdraw the code (resident gave up / expired), then report what the payment
        is: a resident who paid a moment before is reported paid, never refunded."""
        code_id, merchant_payment_id = split_id(provider_id)
        self._call("delete code", self.client.Code.delete_qr_code, code_id,
                   ok=("SUCCESS", *_GONE))
        try:
            return self.details(merchant_payment_id, code_id)
        except ProviderError as exc:
            if exc.retryable:
                raise
            # Deleted before anyone scanned it: PayPay has no payment to show.
            return ProviderPayment(provider_id, merchant_payment_id, 0,
                                   PaymentState.CANCELED, "", 0.0)

    @staticmethod
    def webhook_reference(body: bytes) -> str:
        """PayPay's transaction webhook is not signed (its docs give the sender's IP
        addresses instead): take only the payment it names (`merchant_order_id` = our
        merchantPaymentId); the back-office then reads the state back through the API."""
        try:
            event = json.loads(body)
            reference = event["merchant_order_id"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError("not a PayPay transaction event", retryable=False) from None
        if not isinstance(reference, str) or not 0 < len(reference) <= 64:
            raise ProviderError("not a PayPay transaction event", retryable=False)
        return reference

    def settlements(self, day: date, references: tuple[str, ...] = ()) -> list[ProviderPayment]:
        """PayPay's side of the day-end: the payment details of each of our references
        (the OPA has no per-day list; PayPay's recon file is the acquirer's record)."""
        out = []
        for ref in references:
            try:
                out.append(self.details(ref))
            except ProviderError as exc:
                if exc.retryable:
                    raise
                # Unknown to PayPay (never created, or deleted unscanned): not there.
        return out
