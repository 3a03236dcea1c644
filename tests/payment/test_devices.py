"""The provider and terminal adapters against the stand-in processes."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from kiosk.domain.payment import PaymentState, parse_jpqr
from kiosk.payment.provider import HttpCodePaymentProvider, ProviderError
from kiosk.payment.terminal import NexoTcpTerminal
from tests.payment.conftest import Provider, Terminal


def test_provider_create_is_idempotent_and_parses(provider: Provider) -> None:
    api = HttpCodePaymentProvider(provider.url, provider.api_key)
    a = api.create("kita-1-aa", 600, "A-001", 60, "")
    b = api.create("kita-1-aa", 600, "A-001", 60, "")
    assert a.provider_id == b.provider_id and a.state is PaymentState.PENDING
    assert parse_jpqr(a.qr_payload).amount_yen == 600
    with pytest.raises(ProviderError, match="409"):
        api.create("kita-1-aa", 900, "A-001", 60, "")   # same key, another amount
    provider.scan(a.provider_id)
    assert api.status(a.provider_id).state is PaymentState.PAID
    assert api.cancel(a.provider_id).state is PaymentState.PAID  # too late to cancel
    day = datetime.now(UTC).date()
    assert [p.merchant_payment_id for p in api.settlements(day)] == ["kita-1-aa"]


def test_provider_bad_key_and_unreachable(provider: Provider) -> None:
    with pytest.raises(ProviderError, match="401"):
        HttpCodePaymentProvider(provider.url, "wrong").create("x-1", 300, "", 60, "")
    dead = HttpCodePaymentProvider("http://127.0.0.1:9", "k", timeout_s=0.5, retries=1)
    with pytest.raises(ProviderError) as err:
        dead.status("pp_x")
    assert err.value.retryable


def _tx(terminal: Terminal, **kw: object) -> NexoTcpTerminal:
    if kw:
        terminal.control(**kw)
    return NexoTcpTerminal("127.0.0.1", terminal.port, sale_id="kiosk-test", timeout_s=2,
                           recover_s=3)


def test_terminal_paid(terminal: Terminal) -> None:
    r = _tx(terminal, outcome="succeed", delay_s=0.1).pay("S1", "P1", 300, threading.Event())
    assert r.state is PaymentState.PAID and r.amount_yen == 300 and r.transaction_id
    # The same ServiceID again never charges twice: the terminal repeats its answer.
    again = _tx(terminal).pay("S1", "P1", 300, threading.Event())
    assert again.transaction_id == r.transaction_id
    assert [t["status"] for t in terminal.journal()] == ["Success"]


def test_terminal_declined(terminal: Terminal) -> None:
    r = _tx(terminal, outcome="decline", delay_s=0.1).pay("S2", "P2", 300, threading.Event())
    assert r.state is PaymentState.FAILED and r.error == "Refusal"


def test_terminal_timeout_aborts(terminal: Terminal) -> None:
    r = _tx(terminal, outcome="timeout").pay("S3", "P3", 300, threading.Event())
    assert r.state is PaymentState.FAILED and r.error == "Timeout"
    assert terminal.journal()[0]["error"] == "Aborted"  # the terminal stopped waiting too


def test_terminal_resident_cancels(terminal: Terminal) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    r = _tx(terminal, outcome="timeout").pay("S4", "P4", 300, cancel)
    assert r.state is PaymentState.CANCELED and time.monotonic() - started < 2


@pytest.mark.parametrize("then,state", [("paid", PaymentState.PAID),
                                        ("failed", PaymentState.FAILED)])
def test_terminal_disconnect_mid_payment_recovers(terminal: Terminal, then: str,
                                                  state: PaymentState) -> None:
    r = _tx(terminal, outcome="disconnect", delay_s=0.2, disconnect_then=then).pay(
        "S5", "P5", 450, threading.Event())
    assert r.state is state  # learned through TransactionStatus after reconnecting


def test_terminal_unreachable() -> None:
    r = NexoTcpTerminal("127.0.0.1", 9, sale_id="k", connect_timeout_s=0.5).pay(
        "S6", "P6", 300, threading.Event())
    assert r.state is PaymentState.FAILED and r.error == "Unreachable"


def test_terminal_lost_for_good_leaves_the_payment_unknown() -> None:
    # A terminal that takes the request, drops the line and is then gone (power cut):
    # nobody can say whether the card was charged, so the result is PENDING, not FAILED.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def take_and_vanish() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()
        listener.close()

    threading.Thread(target=take_and_vanish, daemon=True).start()
    r = NexoTcpTerminal("127.0.0.1", port, sale_id="k", recover_s=1.0).pay(
        "S7", "P7", 300, threading.Event())
    assert r.state is PaymentState.PENDING and r.error == "Unknown after Disconnected"
