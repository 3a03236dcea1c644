"""Every error is typed and carries a message in Japanese and English; PC/SC codes map to
the right error; pcscd dying while the kiosk waits is reported as such."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from smartcard import scard

from hardware.card.rig import PrivatePcscd, SharedPcscdInUse
from kiosk.card import errors
from kiosk.card.pcsc import error_for

from .conftest import REPO

ALL = [c for c in vars(errors).values()
       if isinstance(c, type) and issubclass(c, errors.CardError)]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_messages_in_both_languages(cls):
    exc = cls(2) if cls in (errors.WrongPin, errors.WrongCodeB, errors.CodeBTriesLow) else cls()
    assert exc.message_ja and exc.message_en and exc.message_ja != exc.message_en
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in exc.message_ja)
    assert exc.message_en.isascii()
    assert 2 <= exc.exit_code <= 13
    assert exc.msgid.format(**exc.params) == exc.message_ja


def test_wrong_pin_wording():
    again, last = errors.WrongPin(2), errors.WrongPin(1)
    assert again.msgid == errors.WrongPin.MSGID_AGAIN and again.params == {"tries_left": 2}
    assert "あと2回" in again.message_ja and "2 more wrong tries" in again.message_en
    assert "窓口" in last.message_ja and "counter" in last.message_en


@pytest.mark.parametrize(("code", "cls"), [
    (scard.SCARD_E_NO_SERVICE, errors.ServiceUnavailable),
    (0x8010001E, errors.ServiceUnavailable),
    (scard.SCARD_F_COMM_ERROR, errors.ServiceUnavailable),
    (scard.SCARD_E_UNKNOWN_READER, errors.ReaderUnavailable),
    (scard.SCARD_E_READER_UNAVAILABLE, errors.ReaderUnavailable),
    (scard.SCARD_W_REMOVED_CARD, errors.CardRemoved),
    (scard.SCARD_E_NO_SMARTCARD, errors.CardRemoved),
    (scard.SCARD_E_SHARING_VIOLATION, errors.CardBusy),
    (scard.SCARD_E_TIMEOUT, errors.NoCard),
    (scard.SCARD_E_CANCELLED, errors.Cancelled),
    (scard.SCARD_F_INTERNAL_ERROR, errors.CardCommunicationError),
])
def test_pcsc_codes(code, cls):
    error = error_for(code, "testing")
    assert type(error) is cls and "testing" in error.detail


@pytest.mark.pcsc
def test_pcscd_dies_while_waiting(tmp_path):
    """A second private pcscd, used by a CLI subprocess, is killed during the wait."""
    tmp_path.chmod(0o755)
    pcscd = PrivatePcscd(tmp_path)
    try:
        pcscd.start()
    except SharedPcscdInUse:
        pytest.skip("WARD_PCSCD_SHARED=1: this session's pcscd holds the one shared socket")
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "kiosk.card", "read", "--reader", pcscd.reader,
             "--pin-stdin", "--timeout", "30"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
            env=pcscd.env)
        time.sleep(1.0)
        assert cli.poll() is None  # waiting for a card
        pcscd.stop()
        _, stderr = cli.communicate("1234\n", timeout=20)
    finally:
        pcscd.stop()
    assert cli.returncode == 3, stderr
    assert "ServiceUnavailable" in stderr
