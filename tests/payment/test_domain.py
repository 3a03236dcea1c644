"""Payment states, webhook signatures and reconciliation (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.backoffice.config import Settings, load_settings
from kiosk.configfile import CONFIG_DIR
from kiosk.domain.errors import ConfigError
from kiosk.domain.payment import (
    JournalError,
    LedgerEntry,
    PaymentState,
    SignatureError,
    TransitionError,
    reconcile,
    sign_webhook,
    terminal_journal,
    transition,
    verify_webhook,
)
from kiosk.domain.section import Section
from kiosk.payment.config import KioskPaymentSettings, load_payment_settings

S = PaymentState


def test_transitions() -> None:
    assert transition(S.CREATED, S.PENDING)
    assert transition(S.PENDING, S.PAID)
    assert not transition(S.PAID, S.PAID)            # a duplicate: no change
    for late in (S.PENDING, S.CANCELED, S.FAILED, S.EXPIRED):
        with pytest.raises(TransitionError):
            transition(S.PAID, late)                  # nothing undoes a payment
    with pytest.raises(TransitionError):
        transition(S.EXPIRED, S.PAID)


@given(st.lists(st.sampled_from(list(PaymentState)), max_size=12))
def test_any_event_sequence_keeps_the_first_final_state(events: list[PaymentState]) -> None:
    state = S.CREATED
    first_final = None
    for target in events:
        try:
            transition(state, target)
            state = target
        except TransitionError:
            pass
        if state.final and first_final is None:
            first_final = state
    assert first_final is None or state is first_final


def test_signature() -> None:
    body = b'{"x": 1}'
    sig = sign_webhook(b"s3cret", 1000, "nonce-123456", body)
    assert verify_webhook(b"s3cret", "1000", "nonce-123456", body, sig, 1010, 300) == 1000
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(b"other", "1000", "nonce-123456", body, sig, 1010, 300)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(b"s3cret", "1000", "nonce-123456", body + b" ", sig, 1010, 300)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(b"s3cret", "1000", "nonce-999999", body, sig, 1010, 300)
    with pytest.raises(SignatureError, match="away from now"):
        verify_webhook(b"s3cret", "1000", "nonce-123456", body, sig, 5000, 300)
    with pytest.raises(SignatureError, match="nonce"):
        verify_webhook(b"s3cret", "1000", "", body, sig, 1010, 300)


def test_reconcile_flags_every_disagreement() -> None:
    ours = [LedgerEntry("a", 300, S.PAID, "juminhyo", "code"),
            LedgerEntry("b", 600, S.PAID, "juminhyo", "code"),
            LedgerEntry("c", 450, S.PENDING, "koseki", "code"),
            LedgerEntry("d", 300, S.PAID, "inkan", "terminal"),
            LedgerEntry("e", 300, S.PAID, "inkan", "code")]
    theirs = [LedgerEntry("a", 300, S.PAID), LedgerEntry("b", 300, S.PAID),
              LedgerEntry("c", 450, S.PAID), LedgerEntry("z", 300, S.PAID)]
    r = reconcile(ours, theirs)
    assert [(x.procedure, x.method, x.count, x.amount_yen) for x in r.rows] == [
        ("inkan", "code", 1, 300), ("inkan", "terminal", 1, 300), ("juminhyo", "code", 2, 900)]
    problems = {m.reference: m.problem for m in r.mismatches}
    assert set(problems) == {"b", "c", "e", "z"}
    assert "amount" in problems["b"] and "state" in problems["c"]
    assert not r.ok
    assert reconcile(ours[:1], theirs[:1]).ok


def test_config_file_is_valid_and_typos_are_named() -> None:
    kiosk = load_payment_settings(CONFIG_DIR / "kiosk.toml")
    assert kiosk.poll_seconds > 0 and kiosk.terminal.kind == "nexo"
    assert load_settings(CONFIG_DIR / "backoffice.toml").payment.code_expiry >= 10
    with pytest.raises(ConfigError, match=r"payment\.webhook_tolerence"):
        Settings.from_mapping({"payment": {"webhook_tolerence": 5}})
    with pytest.raises(ConfigError, match="merchant_city"):
        Settings.from_mapping({"payment": {"merchant_city": "堺市"}})
    with pytest.raises(ConfigError, match=r"payment\.terminal\.prot"):
        KioskPaymentSettings.from_section(Section({"terminal": {"prot": 1}}, "k.toml",
                                                  "payment"))


def test_the_provider_and_its_secrets_stay_off_the_kiosk() -> None:
    """The kiosk's [payment] knows its terminal and the back-office it asks; the provider's
    URL, key and webhook secret (their variables' names too) are the back-office's alone."""
    with pytest.raises(ConfigError, match=r"payment\.provider_url: unknown key"):
        KioskPaymentSettings.from_section(Section(
            {"provider_url": "http://127.0.0.1:8700"}, "kiosk.toml", "payment"))
    shipped = (CONFIG_DIR / "kiosk.toml").read_text(encoding="utf-8")
    for word in ("provider", "api_key", "webhook", "secret"):
        assert word not in shipped.split("[payment]", 1)[1].split("\n[", 1)[0]


def test_terminal_journal_compared_per_transaction() -> None:
    journal = terminal_journal([
        {"service_id": "kita-1-a", "status": "Success", "amount": 300,
         "poi_transaction_id": "poi_1"},
        {"service_id": "kita-2-b", "status": "Failure", "amount": 450},
        {"service_id": "kita-3-c", "status": "InProgress", "amount": 300}])
    assert [e.state for e in journal] == [PaymentState.PAID, PaymentState.FAILED,
                                          PaymentState.PENDING]
    ours = [LedgerEntry("kita-1-a", 300, PaymentState.PAID, "juminhyo", "terminal", "poi_1"),
            LedgerEntry("kita-2-b", 450, PaymentState.PAID, "koseki", "terminal", "poi_2"),
            LedgerEntry("kita-9-z", 300, PaymentState.PAID, "juminhyo", "code")]
    r = reconcile(ours, journal, ("terminal",), "terminal")
    assert [(m.reference, m.problem) for m in r.mismatches] == [
        ("kita-2-b", "state differs: here paid, terminal failed")]  # code payments not in it
    for bad in ({"service_id": "x", "status": "Paid", "amount": 1},
                {"service_id": "x", "status": "Success", "amount": True},
                {"status": "Success", "amount": 1}):
        with pytest.raises(JournalError):
            terminal_journal([bad])
