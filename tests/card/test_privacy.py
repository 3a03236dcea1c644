"""The PIN and the 個人番号 reach no log: ours (raw records, before any redaction
filter), the stand-in card's APDU log, nor the CLI's output."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from kiosk.card import CardError, WrongPin

from .conftest import REPO, TEST_CA

pytestmark = pytest.mark.pcsc

PIN, WRONG_PIN, NUMBER = "7391", "8264", "482917365509"
SECRETS = (PIN, WRONG_PIN, NUMBER, NUMBER[-8:], "37 33 39 31", "37333931", "38 32 36 34")


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked"


def test_no_pin_or_number_in_any_log(card_slot, reader, caplog):
    caplog.set_level(logging.DEBUG)
    card = card_slot.insert("yamada", pin=PIN, my_number=NUMBER)
    with reader.wait_for_card(5) as session:
        with pytest.raises(WrongPin) as wrong:
            session.verify(WRONG_PIN)
        session.verify(PIN)
        session.read_holder()
        number = session.read_my_number()
        assert number == NUMBER
        session.check_authenticity(with_number=True)
    _clean(str(wrong.value) + wrong.value.message_ja + wrong.value.message_en)
    assert "PIN accepted" in caplog.text and "READ BINARY" in caplog.text
    _clean(caplog.text)
    apdus = card.apdu_log()
    assert "00 20 00 80 04 ** ** ** **" in apdus
    _clean(apdus)


def test_cli_masks_the_number(card_slot, pcsc):
    card = card_slot.insert("yamada", pin=PIN, my_number=NUMBER)
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.card", "-v", "read", "--reader", pcsc.reader,
         "--pin-stdin", "--json", "--with-number", "--auth", "--ca", str(TEST_CA)],
        input=PIN + "\n", capture_output=True, text=True, cwd=REPO, env=pcsc.env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"my_number": "********5509"' in result.stdout
    assert "READ BINARY" in result.stderr  # -v logs APDU headers
    _clean(result.stdout + result.stderr + card.apdu_log())


def test_no_code_b_in_any_log(card_slot, reader, caplog):
    """照合番号B (a birth date and the card's security code) likewise: not in our records,
    not in the card's APDU log, not in an error — right or wrong."""
    caplog.set_level(logging.DEBUG)
    card = card_slot.insert("yamada", security_code="9158")
    right, wrong = "60030720359158", "60030720359157"
    with reader.wait_for_card(5) as session:
        with pytest.raises(CardError) as err:
            session.verify_code_b(wrong)
        session.verify_code_b(right)
        session.read_holder()
        session.check_authenticity()
    assert "code B accepted" in caplog.text
    texts = (caplog.text, card.apdu_log(), str(err.value), err.value.message_ja)
    for text in texts:
        for secret in (right, wrong, "9158", "9157", "39 31 35 38", "39313538"):
            assert secret not in text, f"{secret!r} leaked"
    assert "00 20 00 80 0E " + " ".join(["**"] * 14) in card.apdu_log()
