"""The JPQR / EMVCo merchant-presented payload: public test vectors and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.payment import (
    MerchantQr,
    PayloadError,
    crc16_ccitt_false,
    parse_jpqr,
    parse_payload,
    parse_tlv,
    with_crc,
)

# The EMVCo MPM specification's own example (CRC A13A): kanji in the ZH template, whose
# length counts characters while the CRC runs over UTF-8 bytes.
EMVCO_SPEC = ("00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
              "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
              "540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449"
              "988770708123456786304A13A")
# A JPQR example from Mercari's open-source go-emv-code tests (jp.or.paymentsjapan, JA).
JPQR_MERCARI = ("0002016003xxx01021129300012D156000000000510A93FO3230Q31280012D156000000010308"
                "1234567826680019jp.or.paymentsjapan01130000000000001020400010306000001040600"
                "000153033925903xxx64180002JA0108メルペイ カフェ520441115802JP61071066143"
                "6304DEE9")
# phannaly/emv-qr-code README example (dynamic, USD).
EMV_KH = ("00020101021252044131153137210116372101160123456789ABCDE6016Banteay Meanchey5913"
          "Kuntheas Shop5802KH540510.005303840621201081234567863041FF2")


def test_crc_check_value() -> None:
    # The catalogue check value of CRC-16/CCITT-FALSE.
    assert crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize("vector", [EMVCO_SPEC, JPQR_MERCARI, EMV_KH])
def test_public_vectors_crc(vector: str) -> None:
    assert with_crc(vector[:-8]) == vector
    assert parse_payload(vector).get("63") == vector[-4:]


def test_emvco_spec_vector_fields() -> None:
    p = parse_payload(EMVCO_SPEC)
    assert p.get("58") == "CN" and p.get("59") == "BEST TRANSPORT"
    assert p.templates["64"] == {"00": "ZH", "01": "最佳运输", "02": "北京"}
    assert p.templates["62"]["03"] == "1234"


def test_jpqr_vector_parses_as_jpqr() -> None:
    p = parse_jpqr(JPQR_MERCARI)
    assert p.get("61") == "1066143"
    assert p.templates["64"]["01"] == "メルペイ カフェ"
    assert p.templates["26"]["00"] == "jp.or.paymentsjapan"
    assert p.amount_yen is None  # a static code


@pytest.mark.parametrize("vector,problem", [
    (EMVCO_SPEC, "tag 61"),                  # a Chinese example: no JPQR postcode
    (EMV_KH, "JPQR requires tag 61"),
    (JPQR_MERCARI[:-1] + "A", "CRC mismatch"),
    (JPQR_MERCARI.replace("メルペイ", "メルカリ"), "CRC mismatch"),
])
def test_jpqr_refusals(vector: str, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        parse_jpqr(vector)


def test_our_payload_round_trip() -> None:
    qr = MerchantQr(merchant_id="0000000000001", merchant_name="SAKAI CITY KITA WARD",
                    merchant_city="SAKAI", postcode="5918021", amount_yen=900,
                    reference="kita-12-ab12cd34", name_ja="堺市北区役所", city_ja="堺市")
    payload = qr.payload()
    p = parse_jpqr(payload)
    assert p.get("01") == "12"          # dynamic: one payment
    assert p.amount_yen == 900
    assert p.reference == "kita-12-ab12cd34"
    assert p.get("53") == "392" and p.get("58") == "JP" and p.get("61") == "5918021"
    assert p.templates["64"] == {"00": "JA", "01": "堺市北区役所", "02": "堺市"}
    assert payload.endswith(f"{crc16_ccitt_false(payload[:-4].encode()):04X}")


@pytest.mark.parametrize("kwargs,problem", [
    ({"amount_yen": None}, "carries its amount"),
    ({"amount_yen": 0}, "positive"),
    ({"merchant_name": "X" * 26}, "merchant_name"),
    ({"merchant_city": "堺市"}, "merchant_city"),
    ({"postcode": "591-8021"}, "postcode"),
])
def test_builder_refuses_bad_input(kwargs: dict[str, object], problem: str) -> None:
    base: dict[str, object] = {"merchant_id": "1", "merchant_name": "WARD",
                               "merchant_city": "SAKAI", "postcode": "5918021",
                               "amount_yen": 300}
    base.update(kwargs)
    with pytest.raises(PayloadError, match=problem):
        MerchantQr(**base).payload()  # type: ignore[arg-type]


def test_malformed_tlv() -> None:
    with pytest.raises(PayloadError):
        parse_tlv("0002")        # length overruns
    with pytest.raises(PayloadError):
        parse_tlv("0a0201")      # not digits


@given(amount=st.integers(1, 9_999_999), ref=st.from_regex(r"[A-Za-z0-9-]{1,25}", fullmatch=True),
       name=st.text(st.characters(categories=("Lo", "Nd")), min_size=1, max_size=20))
def test_round_trip_property(amount: int, ref: str, name: str) -> None:
    payload = MerchantQr("123", "WARD", "SAKAI", "5900078", amount, ref, name).payload()
    p = parse_jpqr(payload)
    assert (p.amount_yen, p.reference, p.templates["64"]["01"]) == (amount, ref, name)
