"""Whatever the card answers, the session raises only our typed errors.

A scripted transport (a unit-test stand-in for one small piece: the response handling)
feeds hypothesis-made answers: random status words, truncated and overlong data.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.card.applet import MyNumberApplet
from hardware.card.profile import PROFILES, Profile
from kiosk.card.authenticity import TrustedCa
from kiosk.card.errors import CardError
from kiosk.card.session import CardApChannel

from .conftest import TEST_CA

STATUS = st.one_of(
    st.sampled_from([0x9000, 0x6282, 0x63C3, 0x63C2, 0x63C1, 0x63C0, 0x6984, 0x6983, 0x6982,
                     0x6A82, 0x6B00, 0x6C10, 0x6100, 0x6110, 0x6700]),
    st.integers(0, 0xFFFF))
PROFILE = Profile.load(PROFILES / "yamada.toml")
CA = TrustedCa.from_file(TEST_CA)


class Scripted:
    """Answers from the real applet, with some answers replaced by fuzz."""

    def __init__(self, fuzz):
        self.applet = MyNumberApplet(PROFILE)
        self.fuzz = fuzz
        self.n = 0

    def transmit(self, command):
        self.n += 1
        if self.n > 60:
            raise AssertionError("the session loops")
        real = self.applet.process(command)
        replaced = self.fuzz.get(self.n)
        if replaced is None:
            return real[:-2], int.from_bytes(real[-2:], "big")
        data, sw = replaced
        return data, sw


@given(st.dictionaries(st.integers(1, 20), st.tuples(st.binary(max_size=300), STATUS),
                       max_size=4))
@settings(max_examples=300, deadline=None)
def test_fuzzed_responses_only_typed_errors(fuzz):
    session = CardApChannel(Scripted(fuzz), [CA], live_challenge=True)
    try:
        session.tries_left()
        session.verify("1234")
        session.read_holder()
        session.read_my_number()
        session.check_authenticity(with_number=True)
    except CardError as exc:
        assert exc.message_ja and exc.message_en
    finally:
        session.close()


@given(st.dictionaries(st.integers(1, 20), st.tuples(st.binary(max_size=300), STATUS),
                       max_size=4))
@settings(max_examples=200, deadline=None)
def test_fuzzed_responses_to_code_b_only_typed_errors(fuzz):
    """照合番号B likewise — and a fuzzed answer never makes it send a third VERIFY."""
    transport = Scripted(fuzz)
    session = CardApChannel(transport, [CA])
    sent: list[bytes] = []
    transmit = transport.transmit
    transport.transmit = lambda c: (sent.append(c), transmit(c))[1]
    try:
        session.code_b_tries_left()
        session.verify_code_b("60030720350000")
        session.read_holder()
        session.check_authenticity()
    except CardError as exc:
        assert exc.message_ja and exc.message_en
    finally:
        session.close()
    assert sum(1 for c in sent if c[:5] == bytes.fromhex("002000800E")) <= 1


@given(st.binary(max_size=700), st.binary(max_size=400), st.binary(max_size=700))
@settings(max_examples=200, deadline=None)
def test_fuzzed_signature_files_never_crash(ef0002, ef0003, ef0004):
    from kiosk.card.authenticity import check
    from kiosk.domain.application import Authenticity

    result = check(ef0002, ef0003, ef0004, [CA])
    assert result.status is Authenticity.TAMPERED


def test_unfuzzed_flow_is_genuine():
    session = CardApChannel(Scripted({}), [CA], live_challenge=True)
    session.verify("1234")
    assert session.read_holder().name == "山田\u3000太郎"
    assert session.check_authenticity(with_number=True).genuine


class Answers:
    """Fixed answers, in order (a unit test of the status-word handling)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def transmit(self, command):
        self.sent.append(command)
        return self.answers.pop(0)


def test_verify_that_reaches_zero_is_blocked():
    import pytest

    from kiosk.card.errors import PinBlocked

    session = CardApChannel(Answers((b"", 0x9000), (b"", 0x9000), (b"", 0x63C2), (b"", 0x63C0)))
    assert session.tries_left() == 2
    with pytest.raises(PinBlocked):
        session.verify("0000")


def test_6983_counts_as_blocked():
    session = CardApChannel(Answers((b"", 0x9000), (b"", 0x9000), (b"", 0x6983)))
    assert session.tries_left() == 0


def test_get_response_and_wrong_le():
    holder = PROFILE.files[0x0002]
    session = CardApChannel(Answers(
        # select AP, select EF 0011, tries left, VERIFY, select EF 0002
        (b"", 0x9000), (b"", 0x9000), (b"", 0x63C3), (b"", 0x9000), (b"", 0x9000),
        (b"", 0x6C00 | len(holder)), (holder[:50], 0x6100 | (len(holder) - 50)),
        (holder[50:], 0x9000)))
    session.verify("1234")
    assert session.read_holder().given_name == "太郎"
    transport = session.transport
    assert transport.sent[6] == bytes([0, 0xB0, 0, 0, len(holder)])   # repeated with Le
    assert transport.sent[7][:2] == b"\x00\xC0"                        # GET RESPONSE
