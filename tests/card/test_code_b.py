"""照合番号B (EF 0015): the PIN-less read through pcscd + vpcd + the stand-in card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kiosk.card import (
    CodeBBlocked,
    CodeBTriesLow,
    InvalidCodeB,
    NumberUnavailable,
    PinBlocked,
    WrongCodeB,
)
from kiosk.domain.application import Authenticity

from .conftest import REPO, TEST_CA

pytestmark = pytest.mark.pcsc

YAMADA_B = "600307" + "2035" + "4821"     # 昭和60年3月7日, expiry 2035, code 4821
KAO_B = "020224" + "2030" + "7305"        # 令和2年2月24日 — the brief's example
BLOCKED_B = "270811" + "2033" + "1592"    # 昭和27年8月11日


def test_code_b_reads_the_basic_four_in_six_apdus(card_slot, reader):
    card = card_slot.insert("yamada")
    with reader.wait_for_card(5) as session:
        assert session.code_b_tries_left() == 10
        session.verify_code_b(YAMADA_B)
        holder = session.read_holder()
        assert session.apdu_count == 6 and session.opened_with == "code_b"
        assert holder.family_name == "山田"
        assert session.check_authenticity().status is Authenticity.GENUINE  # EF 0003 opens
        # EF 0001 stays closed with code B: not even asked for.
        with pytest.raises(NumberUnavailable):
            session.read_my_number()
    log = card.apdu_log()
    assert "A4 02 0C 02 00 01" not in log
    assert "A4 02 0C 02 00 15" in log and "A4 02 0C 02 00 11" not in log
    assert YAMADA_B not in log and "4821" not in log     # the code is never logged


def test_pinless_card(card_slot, reader):
    """A 顔認証マイナンバーカード: the PIN key answers as blocked (our assumption); code B opens."""
    card_slot.insert("kao")
    with reader.wait_for_card(5) as session:
        assert session.tries_left() == 0
        with pytest.raises(PinBlocked):
            session.verify("1234")
        assert session.code_b_tries_left() == 10
        session.verify_code_b(KAO_B)
        holder = session.read_holder()
        assert holder.birth_date_wareki == "令和2年2月24日"
        assert session.apdu_count <= 8


def test_pin_blocked_but_code_b_works(card_slot, reader):
    card_slot.insert("pin_blocked")
    with reader.wait_for_card(5) as session:
        assert session.tries_left() == 0
        session.verify_code_b(BLOCKED_B)
        assert session.read_holder().given_name == "一郎"


def test_wrong_code_b_counts_down_its_own_counter_and_never_the_last_two(card_slot, reader):
    card = card_slot.insert("yamada", code_b_tries=4)
    with reader.wait_for_card(5) as session:
        with pytest.raises(WrongCodeB) as first:
            session.verify_code_b("60030720354822")
        assert first.value.tries_left == 3 and not first.value.stop
        assert "あと3回" in first.value.message_ja
        with pytest.raises(WrongCodeB) as second:
            session.verify_code_b("60030720354823")
        assert second.value.tries_left == 2 and second.value.stop
        with pytest.raises(CodeBTriesLow):   # 2 left: not sent, even if right
            session.verify_code_b(YAMADA_B)
        assert session.tries_left() == 3      # the PIN's counter is untouched
    verifies = [line for line in card.apdu_log().splitlines()
                if "00 20 00 80 0E" in line]
    assert len(verifies) == 2


@pytest.mark.parametrize("tries", [2, 1])
def test_low_tries_not_sent(card_slot, reader, tries):
    card = card_slot.insert("yamada", code_b_tries=tries)
    with reader.wait_for_card(5) as session:
        with pytest.raises(CodeBTriesLow) as err:
            session.verify_code_b(YAMADA_B)
        assert err.value.tries_left == tries
    assert "00 20 00 80 0E" not in card.apdu_log()


def test_blocked_and_invalid(card_slot, reader):
    card = card_slot.insert("yamada", code_b_tries=0)
    with reader.wait_for_card(5) as session:
        with pytest.raises(InvalidCodeB):
            session.verify_code_b("6003072035482")   # 13 digits: nothing sent
        assert session.apdu_count == 0
        with pytest.raises(CodeBBlocked):
            session.verify_code_b(YAMADA_B)
    assert "00 20 00 80 0E" not in card.apdu_log()


def test_number_digest_checked_whenever_the_number_is_read(card_slot, test_ca):
    """EF 0001 read → its DF31 digest is checked without being asked (tampered number)."""
    from kiosk.card.pcsc import PcscCardReader

    card_slot.insert("yamada")
    reader = PcscCardReader(card_slot.reader, [test_ca])
    try:
        with reader.wait_for_card(5) as session:
            session.verify("1234")
            session.read_holder()
            session.read_my_number()
            # a stand-in for a number file that does not match its digest
            session._number_file_read = b"\xFF\x10\x0C" + b"123456789026" + b"\xFF\xFF"
            result = session.check_authenticity()
            assert result.status is Authenticity.TAMPERED
            assert result.reason == "number does not match the digest"
        with reader.wait_for_card(5) as session:
            session.verify("1234")
            session.read_my_number()
            assert session.check_authenticity().status is Authenticity.GENUINE
    finally:
        reader.close()


def cli(pcsc, *args, stdin):
    return subprocess.run([sys.executable, "-m", "kiosk.card", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, env=pcsc.env, timeout=60)


def test_cli_code_b_stdin(card_slot, pcsc):
    card_slot.insert("kao")
    result = cli(pcsc, "read", "--reader", pcsc.reader, "--code-b-stdin", "--json",
                 "--with-number", "--auth", "--ca", str(TEST_CA), stdin=KAO_B + "\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["opened_with"] == "code_b" and out["code_b_tries_left"] == 10
    assert out["holder"]["family_name"] == "佐藤"
    assert out["my_number"] is None and "PIN" in out["my_number_unavailable"]
    assert out["authenticity"]["status"] == "genuine"
    assert out["apdus"] == 13   # 6 for the read + EF 0003, EF 0004 (2 READs)
    assert KAO_B not in result.stdout + result.stderr


def test_cli_wrong_code_b(card_slot, pcsc):
    card_slot.insert("kao")
    result = cli(pcsc, "read", "--reader", pcsc.reader, "--code-b-stdin", "--json",
                 stdin="02022420301111\n")
    assert result.returncode == 6
    assert "WrongCodeB" in result.stderr and "(tries left: 9)" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["tries_left"] == 9
