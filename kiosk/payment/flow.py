"""The kiosk's payment flow: what the fee-and-payment screen drives and renders.

    flow = PaymentFlow(client, terminal, ticket_id=1234, on_change=callback)
    flow.start("code")        # or "terminal", "counter"; returns at once (worker thread)
    flow.view                 # a FlowView snapshot: render it
    flow.cancel()             # the resident's cancel button

`on_change(view)` is called from the worker thread: hop to the UI thread
(`Clock.schedule_once`). Every message is a Japanese msgid for `kiosk.i18n`.
The ticket is never at stake: whatever happens here, the back-office keeps the ticket
and records how (or whether) its fee was paid.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from kiosk.domain.payment import PayloadError, PaymentMethod, PaymentState, parse_jpqr
from kiosk.payment.client import BackofficeError, PaymentClient
from kiosk.payment.terminal import PaymentTerminal

log = logging.getLogger(__name__)

#: QR contents of providers whose codes are links into their app, shown as they come.
PROVIDER_CODE_LINKS = ("https://qr.paypay.ne.jp/",)

EXPIRY_GRACE_S = 30.0  # past the code's expiry, stop waiting for the provider to say so


class Screen(StrEnum):
    """What the payment screen shows."""

    STARTING = "starting"          # spinner: 準備しています
    SHOW_CODE = "show_code"        # the QR, amount, expiry countdown, cancel
    FOLLOW_TERMINAL = "follow_terminal"  # "follow the terminal", cancel
    CANCELING = "canceling"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    AT_COUNTER = "at_counter"      # pay at the counter (chosen, or the fallback)
    UNKNOWN = "unknown"            # the terminal's answer was lost: staff will check

    @property
    def final(self) -> bool:
        return self not in (Screen.STARTING, Screen.SHOW_CODE, Screen.FOLLOW_TERMINAL,
                            Screen.CANCELING)


MESSAGES = {
    Screen.STARTING: "お支払いの準備をしています。しばらくお待ちください。",
    Screen.SHOW_CODE: "スマートフォンの決済アプリで、このQRコードを読み取ってください。",
    Screen.FOLLOW_TERMINAL:
        "決済端末の案内にしたがって、カードやスマートフォンをかざしてください。",
    Screen.CANCELING: "お支払いを取り消しています。",
    Screen.PAID: "お支払いが完了しました。",
    Screen.FAILED: "お支払いができませんでした。別の方法を選ぶか、窓口でお支払いください。",
    Screen.CANCELED: "お支払いを取り消しました。",
    Screen.EXPIRED: "QRコードの有効期限が切れました。もう一度お選びください。",
    Screen.AT_COUNTER: "手数料は窓口でお支払いください。",
    Screen.UNKNOWN:
        "お支払いの結果を確認できませんでした。窓口で確認しますので、整理券をお持ちください。",
}

# The payment widget's own texts (msgids; translations: assets/locale/*/payment.po).
METHOD_LABELS = {PaymentMethod.CODE: "スマートフォンのQRコード決済",
                 PaymentMethod.TERMINAL: "カード・電子マネー（決済端末）",
                 PaymentMethod.COUNTER: "窓口で支払う"}
CHOOSE = "お支払い方法をお選びください。"
BACK = "もどる"
CANCEL = "とりけす"
AMOUNT = "{amount}円"
TIME_LEFT = "あと{minutes}分{seconds}秒"
TEXTS = (*MESSAGES.values(), *METHOD_LABELS.values(), CHOOSE, BACK, CANCEL, AMOUNT, TIME_LEFT)
I18N_DOMAIN = "payment"

_BY_STATE = {PaymentState.PAID: Screen.PAID, PaymentState.FAILED: Screen.FAILED,
             PaymentState.CANCELED: Screen.CANCELED, PaymentState.EXPIRED: Screen.EXPIRED}


@dataclass(frozen=True)
class FlowView:
    screen: Screen
    method: str = ""
    amount_yen: int = 0
    payment_id: int | None = None
    qr_payload: str = ""
    expires_at: float | None = None   # epoch seconds, for the countdown
    detail: str = ""                  # for logs and staff, not for the resident

    @property
    def message(self) -> str:
        return MESSAGES[self.screen]

    @property
    def can_cancel(self) -> bool:
        return self.screen in (Screen.SHOW_CODE, Screen.FOLLOW_TERMINAL)

    @property
    def paid(self) -> bool:
        return self.screen is Screen.PAID


class PaymentFlow:
    def __init__(self, client: PaymentClient, terminal: PaymentTerminal | None, ticket_id: int,
                 *, poll_seconds: float = 2.0,
                 on_change: Callable[[FlowView], None] | None = None) -> None:
        self.client = client
        self.terminal = terminal
        self.ticket_id = ticket_id
        self.poll_seconds = poll_seconds
        self.on_change = on_change
        self._view = FlowView(Screen.STARTING)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def view(self) -> FlowView:
        with self._lock:
            return self._view

    def _show(self, view: FlowView) -> None:
        with self._lock:
            self._view = view
        log.info("payment flow ticket %s: %s %s", self.ticket_id, view.screen.value, view.detail)
        if self.on_change is not None:
            try:
                self.on_change(view)
            except Exception:  # a UI bug must not strand the payment worker
                log.exception("payment on_change callback failed")

    def start(self, method: str) -> None:
        if self._thread is not None and not self._done.is_set():
            raise RuntimeError("a payment is already running")
        PaymentMethod(method)  # refuse unknown methods before any network call
        self._cancel.clear()
        self._done.clear()
        self._show(FlowView(Screen.STARTING, method=method))
        self._thread = threading.Thread(target=self._run, args=(method,), daemon=True,
                                        name=f"payment-{self.ticket_id}")
        self._thread.start()

    def cancel(self) -> None:
        """The resident cancels. The outcome may still be PAID if it raced the payment."""
        if self.view.can_cancel:
            self._show(replace(self.view, screen=Screen.CANCELING))
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> FlowView:
        self._done.wait(timeout)
        return self.view

    # --- the worker ---------------------------------------------------------------------
    def _run(self, method: str) -> None:
        try:
            payment = self.client.start(self.ticket_id, method)
            view = FlowView(Screen.STARTING, method=method, amount_yen=int(payment["amount_yen"]),
                            payment_id=int(payment["id"]))
            if method == PaymentMethod.CODE:
                self._run_code(view, payment)
            elif method == PaymentMethod.TERMINAL:
                self._run_terminal(view, payment)
            else:
                self._show(replace(view, screen=Screen.AT_COUNTER))
        except BackofficeError as exc:
            # No record, or no answer: the resident pays at the counter; nothing is lost.
            self._show(replace(self.view, screen=Screen.AT_COUNTER, detail=str(exc)))
        except Exception as exc:
            log.exception("payment flow failed")
            self._show(replace(self.view, screen=Screen.AT_COUNTER, detail=repr(exc)))
        finally:
            self._done.set()

    def _final(self, view: FlowView, payment: dict[str, Any]) -> bool:
        state = PaymentState(payment["state"])
        if state in _BY_STATE:
            self._show(replace(view, screen=_BY_STATE[state]))
            return True
        return False

    def _run_code(self, view: FlowView, payment: dict[str, Any]) -> None:
        if self._final(view, payment):  # e.g. the provider could not be reached
            return
        payload = str(payment.get("qr_payload") or "")
        if payload.startswith(PROVIDER_CODE_LINKS):
            # A provider's own code (PayPay's QR URL) carries no amount: the back-office
            # checked the provider's amount against the fee when it created the code.
            parsed = None
        else:
            try:
                parsed = parse_jpqr(payload)
            except PayloadError as exc:
                self.client.cancel(view.payment_id or 0)
                self._show(replace(view, screen=Screen.FAILED,
                                   detail=f"bad payment code: {exc}"))
                return
        if parsed is not None and parsed.amount_yen != view.amount_yen:
            # The code must charge exactly the fee the back-office computed.
            self.client.cancel(view.payment_id or 0)
            self._show(replace(view, screen=Screen.FAILED,
                               detail=f"code amount {parsed.amount_yen} != {view.amount_yen}"))
            return
        view = replace(view, screen=Screen.SHOW_CODE, qr_payload=payload,
                       expires_at=payment.get("expires_at_epoch"))
        self._show(view)
        misses = 0
        while True:
            if self._cancel.wait(self.poll_seconds):
                self._show(replace(view, screen=Screen.CANCELING))
                payment = self._retrying(lambda: self.client.cancel(view.payment_id or 0))
                if not self._final(view, payment):
                    self._show(replace(view, screen=Screen.CANCELED))
                return
            try:
                payment = self.client.get(view.payment_id or 0)
                misses = 0
            except BackofficeError as exc:
                misses += 1
                log.warning("payment poll failed (%d): %s", misses, exc)
                if misses * self.poll_seconds > 30:
                    raise
                continue
            if self._final(view, payment):
                return
            if view.expires_at and time.time() > view.expires_at + EXPIRY_GRACE_S:
                # The code is long dead but nobody said so (provider silent): end it.
                payment = self._retrying(lambda: self.client.cancel(view.payment_id or 0))
                if not self._final(view, payment):
                    self._show(replace(view, screen=Screen.EXPIRED, detail="no final state"))
                return

    def _run_terminal(self, view: FlowView, payment: dict[str, Any]) -> None:
        if self.terminal is None:
            raise BackofficeError("no payment terminal configured on this kiosk")
        if self._final(view, payment):
            return
        self._show(replace(view, screen=Screen.FOLLOW_TERMINAL))
        result = self.terminal.pay(str(payment["terminal_service_id"]),
                                   f"P{view.payment_id}", view.amount_yen, self._cancel)
        # The terminal's answer and its proof go to the back-office as the terminal gave
        # them: the back-office checks the proof with the terminal's key.
        body = {"state": result.state.value, "amount_yen": result.amount_yen,
                "transaction_id": result.transaction_id, "timestamp": result.timestamp,
                "error": result.error, "terminal_id": result.terminal_id, "mac": result.mac}
        try:  # the terminal's answer must reach the back-office: retry for a while
            payment = self._retrying(
                lambda: self.client.terminal_result(view.payment_id or 0, body))
        except BackofficeError as exc:
            if exc.code != "replay":
                raise
            # A retry of an answer that did arrive (its reply was lost): read the record.
            payment = self.client.get(view.payment_id or 0)
        if not self._final(view, payment):
            self._show(replace(view, screen=Screen.UNKNOWN, detail=result.error))

    @staticmethod
    def _retrying(call: Callable[[], dict[str, Any]], attempts: int = 5) -> dict[str, Any]:
        for n in range(attempts):
            try:
                return call()
            except BackofficeError as exc:
                if exc.status is not None and exc.status < 500:
                    raise
                if n == attempts - 1:
                    raise
                time.sleep(0.5 * (n + 1))
        raise AssertionError("unreachable")
