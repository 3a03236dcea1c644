"""`python -m kiosk.card` as a maintainer runs it, against the stand-in card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO, TEST_CA

pytestmark = pytest.mark.pcsc


def run(pcsc, *args, pin=None, env=None):
    return subprocess.run([sys.executable, "-m", "kiosk.card", *args],
                          input=pin, capture_output=True, text=True, cwd=REPO,
                          env=env or pcsc.env, timeout=60)


def test_readers_lists_atr(card_slot, pcsc):
    result = run(pcsc, "readers")
    assert result.returncode == 0 and f"{pcsc.reader}\t(no card)" in result.stdout
    card_slot.insert("yamada")
    result = run(pcsc, "readers", "--json")
    rows = {r["reader"]: r for r in json.loads(result.stdout)}
    assert rows[pcsc.reader]["atr"] == "3B E0 00 FF 81 31 FE 45 14"


def test_read_json(card_slot, pcsc):
    card_slot.insert("suzuki")
    result = run(pcsc, "read", "--reader", pcsc.reader, "--pin-stdin", "--json", "--auth",
                 "--ca", str(TEST_CA), pin="5678\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["holder"]["family_name"] == "𠮷野"
    assert out["holder"]["birth_date_wareki"] == "昭和25年1月1日"
    assert out["authenticity"]["status"] == "genuine"
    assert "my_number" not in out and out["tries_left"] == 3


def test_read_show_number(card_slot, pcsc):
    card_slot.insert("yamada")
    ambiguous = run(pcsc, "read", "--reader", "Ward Test", "--pin-stdin", pin="1234\n")
    assert ambiguous.returncode == 4 and "2 readers match" in ambiguous.stderr
    result = run(pcsc, "read", "--reader", "PCD 00 00", "--pin-stdin", "--json",
                 "--with-number", "--show-number", pin="1234\n")
    out = json.loads(result.stdout)
    assert out["my_number"] == "123456789018" and out["my_number_check_digit_ok"]


@pytest.mark.parametrize(("tries", "pin", "code", "words"), [
    (3, "0000", 6, "WrongPin"),
    (1, "1234", 7, "LastPinTry"),
    (0, "1234", 8, "PinBlocked"),
    (3, "12", 2, "InvalidPin"),
])
def test_read_pin_failures(card_slot, pcsc, tries, pin, code, words):
    card_slot.insert("yamada", tries_left=tries)
    result = run(pcsc, "read", "--reader", pcsc.reader, "--pin-stdin", pin=pin + "\n")
    assert result.returncode == code, result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_no_card(pcsc, card_slot):
    result = run(pcsc, "read", "--reader", pcsc.reader, "--pin-stdin", "--timeout", "0.2",
                 pin="1234\n")
    assert result.returncode == 5 and "NoCard" in result.stderr


def test_pcscd_not_running(pcsc, tmp_path):
    env = {**pcsc.env, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    result = run(pcsc, "readers", env=env)
    assert result.returncode == 3, result.stderr
    assert "ServiceUnavailable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
