"""The whole read through pcscd + vsmartcard-vpcd + the stand-in card."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from kiosk.card import (
    Cancelled,
    CardRemoved,
    InvalidPin,
    LastPinTry,
    NoCard,
    PinBlocked,
    PinRequired,
    ReaderUnavailable,
    Sex,
    WrongPin,
)
from kiosk.card.pcsc import PcscCardReader
from kiosk.domain.application import Authenticity
from kiosk.domain.my_number import MyNumberCheck

pytestmark = pytest.mark.pcsc


def test_basic_four_in_six_apdus_and_unpowered_at_close(card_slot, reader):
    card = card_slot.insert("yamada")
    session = reader.wait_for_card(5)
    assert session.atr == bytes.fromhex("3BE000FF8131FE4514")
    assert session.tries_left() == 3
    session.verify("1234")
    holder = session.read_holder()
    assert session.apdu_count == 6
    assert (holder.family_name, holder.given_name) == ("山田", "太郎")
    assert holder.address == "東京都北区王子本町１丁目１５番２２号"
    assert holder.birth_date == date(1985, 3, 7)
    assert holder.birth_date_wareki == "昭和60年3月7日"
    assert holder.sex is Sex.MALE and holder.sex.label_ja == "男"
    session.close()
    session.close()  # idempotent
    assert session._holder_file is None  # what was read is forgotten
    deadline = time.monotonic() + 5  # the card logs the power-off a moment later
    while "POWER OFF" not in card.apdu_log().split("A4 02 0C 02 00 02")[-1]:
        assert time.monotonic() < deadline, "the card was not unpowered at close"
        time.sleep(0.02)
    log = card.apdu_log()
    assert "00 01" not in [line.split("APDU ")[-1][-5:] for line in log.splitlines()]


def test_long_address_rare_kanji_over_several_reads(card_slot, reader):
    card = card_slot.insert("suzuki")
    with reader.wait_for_card(5) as session:
        session.verify("5678")
        holder = session.read_holder()
        assert session.apdu_count == 7  # two READ BINARY for a 295-byte file
        raw = session._holder_file
    assert raw[:3] == bytes.fromhex("FF2082") and len(raw) > 256     # 82 outer length
    assert raw[raw.index(b"\xDF\x23"):][2] == 0x81                    # 81 inner length
    assert holder.family_name == "𠮷野" and len("𠮷".encode()) == 4
    assert holder.address.endswith("北側通用口") and "𠮷野ビル" in holder.address
    assert holder.sex is Sex.FEMALE
    reads = [line for line in card.apdu_log().splitlines() if "APDU 00 B0" in line]
    assert len(reads) == 2


def test_address_over_255_bytes(card_slot, reader):
    address = "東京都" + "北区王子本町一丁目" * 12   # 333 bytes: 82 inner length too
    card_slot.insert("yamada", address=address)
    with reader.wait_for_card(5) as session:
        session.verify("1234")
        assert session.read_holder().address == address


@pytest.mark.parametrize("code", ["0", "1", "2", "9"])
def test_every_sex_code(card_slot, reader, code):
    card_slot.insert("yamada", sex=code)
    with reader.wait_for_card(5) as session:
        session.verify("1234")
        assert session.read_holder().sex is Sex(code)


@pytest.mark.parametrize("tries", [3, 2])
def test_wrong_then_right_pin(card_slot, reader, tries):
    card_slot.insert("yamada", tries_left=tries)
    with reader.wait_for_card(5) as session:
        assert session.tries_left() == tries
        if tries == 3:
            with pytest.raises(WrongPin) as wrong:
                session.verify("9999")
            assert wrong.value.tries_left == 2
            assert "あと2回" in wrong.value.message_ja and "2 more" in wrong.value.message_en
        session.verify("1234")  # the right PIN restores the tries
        assert session.tries_left() == 3
        assert session.read_holder().name == "山田\u3000太郎"


def test_wrong_pin_down_to_last_try_is_never_sent(card_slot, reader):
    card = card_slot.insert("yamada", tries_left=2)
    with reader.wait_for_card(5) as session:
        with pytest.raises(WrongPin) as wrong:
            session.verify("0000")
        assert wrong.value.tries_left == 1
        with pytest.raises(LastPinTry) as last:
            session.verify("1234")
        assert "窓口" in last.value.message_ja
    verifies = [line for line in card.apdu_log().splitlines() if "00 20 00 80 04" in line]
    assert len(verifies) == 1  # only the wrong one; the last try was not used


def test_one_try_left_refuses_without_sending(card_slot, reader):
    card = card_slot.insert("yamada", tries_left=1)
    with reader.wait_for_card(5) as session:
        assert session.tries_left() == 1
        with pytest.raises(LastPinTry):
            session.verify("1234")
    assert "00 20 00 80 04" not in card.apdu_log()


def test_blocked_pin(card_slot, reader):
    card_slot.insert("yamada", tries_left=0)
    with reader.wait_for_card(5) as session:
        assert session.tries_left() == 0
        with pytest.raises(PinBlocked) as blocked:
            session.verify("1234")
        assert "再設定" in blocked.value.message_ja and blocked.value.message_en


def test_invalid_pin_costs_nothing(card_slot, reader):
    card = card_slot.insert("yamada")
    with reader.wait_for_card(5) as session:
        for bad in ("123", "12345", "１２３４", "12a4", ""):
            with pytest.raises(InvalidPin):
                session.verify(bad)
        with pytest.raises(PinRequired):
            session.read_holder()
    assert "00 20 00 80 04" not in card.apdu_log()


def test_verify_does_not_survive_close(card_slot, reader):
    card_slot.insert("yamada")
    with reader.wait_for_card(5) as session:
        session.verify("1234")
    with reader.wait_for_card(5) as session:  # same card, new session: PIN needed again
        session._verified = True  # pretend; the card itself must refuse
        with pytest.raises(PinRequired):
            session.read_holder()


def test_my_number_only_when_asked(card_slot, reader):
    card = card_slot.insert("yamada")
    with reader.wait_for_card(5) as session:
        session.verify("1234")
        session.read_holder()
        session.check_authenticity()
    assert "A4 02 0C 02 00 01" not in card.apdu_log()
    with reader.wait_for_card(5) as session:
        session.verify("1234")
        check = MyNumberCheck.of(session.read_my_number())
    assert check == MyNumberCheck(masked="********9018", check_digit_ok=True)
    assert "A4 02 0C 02 00 01" in card.apdu_log()


def test_card_pulled_mid_read(card_slot, reader):
    card = card_slot.insert("yamada", pull_after=6)  # vanishes on the READ BINARY
    session = reader.wait_for_card(5)
    session.verify("1234")
    with pytest.raises(CardRemoved) as removed:
        session.read_holder()
    assert removed.value.message_ja and removed.value.message_en
    session.close()  # closing a pulled card is fine
    card.pull()
    assert not reader.card_present()


def test_card_killed_between_steps(card_slot, reader):
    card = card_slot.insert("yamada")
    session = reader.wait_for_card(5)
    session.verify("1234")
    card.pull()
    with pytest.raises(CardRemoved):
        session.read_holder()
    session.close()


def test_wait_times_out_and_cancels(card_slot, reader):
    with pytest.raises(NoCard):
        reader.wait_for_card(0.3)
    timer = threading.Timer(0.3, reader.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        reader.wait_for_card(10)
    assert time.monotonic() - started < 5


def test_poll_and_wait_for_insert_and_removal(card_slot, reader):
    assert reader.poll() is None
    threading.Timer(0.2, card_slot.insert, kwargs={"wait": False}).start()
    with reader.wait_for_card(10) as session:
        assert session.tries_left() == 3
    assert not reader.wait_for_removal(0.3)
    polled = reader.poll()
    assert polled is not None and polled.tries_left() == 3
    polled.close()
    threading.Timer(0.2, card_slot.remove).start()
    assert reader.wait_for_removal(10)


def test_unknown_reader(card_slot):
    with pytest.raises(ReaderUnavailable):
        PcscCardReader("No Such Reader").wait_for_card(0.1)


@pytest.mark.parametrize(("tamper", "status"), [
    ("", Authenticity.GENUINE),
    ("holder", Authenticity.TAMPERED),
    ("signature", Authenticity.TAMPERED),
    ("forged_cert", Authenticity.TAMPERED),
    ("unknown_ca", Authenticity.TAMPERED),
])
def test_authenticity(card_slot, reader, tamper, status):
    card_slot.insert("yamada", tamper=tamper)
    with reader.wait_for_card(5) as session:
        session.verify("1234")
        result = session.check_authenticity(with_number=True)
    assert result.status is status, result.reason
    if tamper == "unknown_ca":
        assert "not a trusted CA" in result.reason


def test_authenticity_without_ca_and_live_challenge(card_slot, test_ca):
    card_slot.insert("yamada")
    bare = PcscCardReader(card_slot.reader)
    with bare.wait_for_card(5) as session:
        session.verify("1234")
        before = session.apdu_count
        assert session.check_authenticity().status is Authenticity.NOT_VERIFIABLE
        assert session.apdu_count == before  # nothing read for nothing
    bare.close()
    live = PcscCardReader(card_slot.reader, [test_ca], live_challenge=True)
    with live.wait_for_card(5) as session:
        session.verify("1234")
        result = session.check_authenticity()
    assert result.genuine and result.live_checked
    card_slot.insert("yamada", tamper="clone")
    with live.wait_for_card(5) as session:
        session.verify("1234")
        result = session.check_authenticity()
    assert result.status is Authenticity.TAMPERED and result.live_checked
    live.close()


def test_exclusive_connection(card_slot, reader):
    from kiosk.card import CardBusy

    card_slot.insert("yamada")
    other = PcscCardReader(card_slot.reader)
    with reader.wait_for_card(5) as session:
        session.tries_left()
        with pytest.raises(CardBusy) as busy:
            other.wait_for_card(2)
        assert busy.value.message_ja
    with other.wait_for_card(5) as session:  # free again once closed
        assert session.tries_left() == 3
    other.close()
