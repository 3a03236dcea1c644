"""The 券面事項入力補助AP flow over any transport: PIN policy, reads, authenticity.

The minimal basic-four read is six APDUs: SELECT AP, SELECT EF 0011, tries left,
VERIFY, SELECT EF 0002, READ BINARY (more READs only for a holder file over 256 bytes).
EF 0001 is selected only by `read_my_number()`.

照合番号B (EF 0015, its own counter) opens the same read without the PIN — the same six
APDUs with EF 0015 — but not EF 0001 (docs/card.md, "照合番号B": public sources).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence

from kiosk.card import apdu, tlv
from kiosk.card.apdu import Command, Transport
from kiosk.card.authenticity import (
    SHA256_DIGEST_INFO,
    ApCertificate,
    AuthenticityResult,
    TrustedCa,
    challenge_key,
    check,
    verify_challenge,
)
from kiosk.card.errors import (
    CardCommunicationError,
    CardDataError,
    CardError,
    CodeBBlocked,
    CodeBTriesLow,
    InvalidCodeB,
    InvalidPin,
    LastPinTry,
    NotMyNumberCard,
    NumberUnavailable,
    PinBlocked,
    PinRequired,
    WrongCodeB,
    WrongPin,
)
from kiosk.card.holder import Holder, parse_holder
from kiosk.domain.application import Authenticity

log = logging.getLogger(__name__)

MAX_TRIES = 3
MAX_CODE_B_TRIES = 10    # public readers and vendor notes (docs/card.md); the card answers
CODE_B_RESERVE = 2       # never spend the last two 照合番号B tries
CODE_B_LENGTH = 14
MAX_FILE = 0x7FFF


class CardApChannel:
    """One resident's card session. Not thread-safe: one caller at a time."""

    def __init__(self, transport: Transport, trusted: Sequence[TrustedCa] = (), *,
                 atr: bytes = b"", live_challenge: bool = False,
                 on_close: Callable[[], None] | None = None) -> None:
        self.transport = transport
        self.trusted = tuple(trusted)
        self.atr = atr
        self.live_challenge = live_challenge
        self.apdu_count = 0
        self._on_close = on_close
        self._ap_selected = False
        self._current_ef: int | None = None
        self._tries: int | None = None   # known tries left, until the next VERIFY
        self._verified = False
        self._code_b_tries: int | None = None
        self.opened_with: str | None = None   # "pin" | "code_b": which key opened the AP
        self._holder_file: bytes | None = None   # personal data: dropped on close
        self._number_file_read: bytes | None = None   # likewise; for the EF 0003 digest
        self._closed = False

    # -- APDU plumbing ------------------------------------------------------------------
    def _send(self, command: Command) -> tuple[bytes, int]:
        if self._closed:
            raise CardError("session closed")
        raw = command.encode()
        data, sw = self._transmit(raw)
        if sw >> 8 == 0x6C and command.le is not None:  # wrong Le: repeat with the right one
            retry = Command(command.cla, command.ins, command.p1, command.p2, command.data,
                            (sw & 0xFF) or 256)
            data, sw = self._transmit(retry.encode())
        for _ in range(16):  # T=0: "61 xx" = more data waiting (bounded: a card may loop)
            if sw >> 8 != 0x61:
                break
            more, sw = self._transmit(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data += more
        log.debug("%s -> %04X (%d bytes)", apdu.describe(raw), sw, len(data))
        return data, sw

    def _transmit(self, raw: bytes) -> tuple[bytes, int]:
        self.apdu_count += 1
        return self.transport.transmit(raw)

    def _select_ap(self) -> None:
        if self._ap_selected:
            return
        _, sw = self._send(apdu.select_ap())
        if sw == apdu.SW_NOT_FOUND:
            raise NotMyNumberCard("券面事項入力補助AP not found")
        if sw != apdu.SW_OK:
            raise NotMyNumberCard(f"SELECT AP answered {sw:04X}")
        self._ap_selected = True

    def _select_ef(self, ef: int) -> None:
        self._select_ap()
        if self._current_ef == ef:
            return
        _, sw = self._send(apdu.select_ef(ef))
        if sw != apdu.SW_OK:
            raise CardCommunicationError(f"SELECT EF {ef:04X} answered {sw:04X}")
        self._current_ef = ef

    def _read_file(self, ef: int) -> bytes:
        """Read a TLV-structured EF: 256 bytes first, then what its length says is left."""
        self._select_ef(ef)
        buf = b""
        need: int | None = None
        while need is None or len(buf) < need:
            want = 256 if need is None else min(256, need - len(buf))
            data, sw = self._send(apdu.read_binary(len(buf), want))
            if sw == apdu.SW_SECURITY:
                raise PinRequired(f"EF {ef:04X} needs the PIN")
            if sw not in (apdu.SW_OK, apdu.SW_END_OF_FILE):
                raise CardCommunicationError(f"READ BINARY EF {ef:04X} answered {sw:04X}")
            if not data:
                raise CardDataError(f"EF {ef:04X} ended early at {len(buf)} bytes")
            buf += data
            if need is None:
                need = tlv.total_length(buf)
                if need is None and len(buf) < want:
                    raise CardDataError(f"EF {ef:04X} header truncated")
                if need is not None and need > MAX_FILE:
                    raise CardDataError(f"EF {ef:04X} claims {need} bytes")
            if need is not None and len(buf) < need and sw == apdu.SW_END_OF_FILE:
                raise CardDataError(f"EF {ef:04X} shorter than its TLV length")
        return buf[:need]

    # -- PIN ----------------------------------------------------------------------------
    def tries_left(self) -> int:
        """PIN tries left (0 = blocked). Costs no try."""
        self._select_ef(apdu.EF_PIN)
        _, sw = self._send(apdu.tries_left())
        self._tries = self._tries_from(sw, asked=True)
        return self._tries

    def _tries_from(self, sw: int, *, asked: bool, maximum: int = MAX_TRIES) -> int:
        if sw >> 4 == 0x63C:
            return sw & 0x0F
        if sw in (apdu.SW_BLOCKED, apdu.SW_BLOCKED_ALT):
            return 0
        if sw == apdu.SW_OK and asked:
            # Already verified: only if someone skipped the unpower. Report the maximum but
            # still ask this resident for the PIN (verify() sends it; the card checks it).
            return maximum
        raise CardCommunicationError(f"PIN status answered {sw:04X}")

    def verify(self, pin: str) -> None:
        """Send the PIN — never with ≤ 1 try left. Raises WrongPin / LastPinTry / PinBlocked."""
        if len(pin) != 4 or not pin.isascii() or not pin.isdigit():
            raise InvalidPin()
        tries = self._tries if self._tries is not None else self.tries_left()
        if tries == 0:
            raise PinBlocked()
        if tries <= 1:
            raise LastPinTry()
        self._tries = None  # unknown until the card answers
        left = self._present(apdu.EF_PIN, pin, "pin")
        self._tries = MAX_TRIES if left is None else left
        if left == 0:
            raise PinBlocked()
        if left is not None:
            raise WrongPin(left)

    def _present(self, ef: int, value: str, key: str) -> int | None:
        """VERIFY `value` with the key of EF `ef`: None when accepted, else tries left."""
        self._select_ef(ef)
        _, sw = self._send(apdu.verify(value))
        name = {"pin": "PIN", "code_b": "code B"}[key]
        if sw == apdu.SW_OK:
            self._verified = True
            self.opened_with = key
            log.info("%s accepted", name)
            return None
        left = self._tries_from(sw, asked=False)
        log.info("%s refused, %d tries left", name, left)
        return left

    # -- 照合番号B ------------------------------------------------------------------------
    def code_b_tries_left(self) -> int:
        """照合番号B tries left (0 = blocked). Costs no try; separate from the PIN's."""
        self._select_ef(apdu.EF_CODE_B)
        _, sw = self._send(apdu.tries_left())
        self._code_b_tries = self._tries_from(sw, asked=True, maximum=MAX_CODE_B_TRIES)
        return self._code_b_tries

    def verify_code_b(self, code: str) -> None:
        """Send 照合番号B (14 digits) — only with more than CODE_B_RESERVE tries left.

        Raises InvalidCodeB (nothing sent), CodeBBlocked, CodeBTriesLow (not sent), or
        WrongCodeB(tries_left, stop=…) — `stop` when the kiosk will not try again."""
        if len(code) != CODE_B_LENGTH or not code.isascii() or not code.isdigit():
            raise InvalidCodeB()
        tries = self._code_b_tries if self._code_b_tries is not None else \
            self.code_b_tries_left()
        if tries == 0:
            raise CodeBBlocked()
        if tries <= CODE_B_RESERVE:
            raise CodeBTriesLow(tries)
        self._code_b_tries = left = self._present(apdu.EF_CODE_B, code, "code_b")
        if left == 0:
            raise CodeBBlocked()
        if left is not None:
            raise WrongCodeB(left, stop=left <= CODE_B_RESERVE)

    # -- reads --------------------------------------------------------------------------
    def _require_pin(self) -> None:
        if not self._verified:
            raise PinRequired()

    def read_holder(self) -> Holder:
        self._require_pin()
        if self._holder_file is None:
            self._holder_file = self._read_file(apdu.EF_HOLDER)
        return parse_holder(self._holder_file)

    def _number_file(self) -> bytes:
        self._require_pin()
        if self._number_file_read is not None:
            return self._number_file_read
        if self.opened_with == "code_b":
            # 照合番号B does not open EF 0001 (public sources); asking would only fail.
            raise NumberUnavailable("EF 0001 needs the PIN; opened with code B")
        self._select_ef(apdu.EF_MY_NUMBER)
        data, sw = self._send(apdu.read_binary(0, 17))
        if sw == apdu.SW_SECURITY:
            raise PinRequired("EF 0001 needs the PIN")
        if sw not in (apdu.SW_OK, apdu.SW_END_OF_FILE):
            raise CardCommunicationError(f"READ BINARY EF 0001 answered {sw:04X}")
        self._number_file_read = data
        return data

    def read_my_number(self) -> str:
        """The 12-digit 個人番号, for immediate in-memory use only (never store or log it)."""
        item = tlv.parse_one(self._number_file())
        if item.tag != 0xFF10:
            raise CardDataError(f"EF 0001 starts with {item.tag:X}, expected FF10")
        number = item.value.decode("ascii", errors="replace")
        if len(number) != 12 or not number.isascii() or not number.isdigit():
            raise CardDataError("EF 0001 is not 12 digits")
        return number

    # -- authenticity -------------------------------------------------------------------
    def check_authenticity(self, *, with_number: bool = False) -> AuthenticityResult:
        """Static check of EF 0002 against EF 0003/0004 — and of EF 0001 whenever it was
        read in this session (or `with_number` reads it now)."""
        if not self.trusted:
            return AuthenticityResult(Authenticity.NOT_VERIFIABLE, "no trusted CA configured")
        self.read_holder()
        assert self._holder_file is not None
        # With 照合番号B EF 0001 stays closed: the check covers what could be read.
        read = (with_number and self.opened_with != "code_b") or \
            self._number_file_read is not None
        number = self._number_file()[:17] if read else None
        ef0003 = self._read_file(apdu.EF_INTEGRITY)
        ef0004 = self._read_file(apdu.EF_AP_CERT)
        result = check(self._holder_file, ef0003, ef0004, self.trusted, number)
        if result.genuine and self.live_challenge:
            result = self._live(ef0004)
        log.info("authenticity: %s (%s)", result.status.value, result.reason)
        return result

    def _live(self, ef0004: bytes) -> AuthenticityResult:
        try:
            key = challenge_key(self._read_file(apdu.EF_CHALLENGE_KEY), ApCertificate.parse(ef0004))
        except CardDataError as exc:
            return AuthenticityResult(Authenticity.TAMPERED, f"challenge key: {exc.detail}")
        nonce = os.urandom(32)
        digest_info = SHA256_DIGEST_INFO + hashlib.sha256(nonce).digest()
        signature, sw = self._send(apdu.internal_authenticate(digest_info))
        if sw != apdu.SW_OK or not verify_challenge(key, nonce, signature):
            return AuthenticityResult(Authenticity.TAMPERED, "live challenge failed",
                                      live_checked=True)
        return AuthenticityResult(Authenticity.GENUINE, "signatures, digests and live "
                                  "challenge match", live_checked=True)

    # -- end ----------------------------------------------------------------------------
    def close(self) -> None:
        """End the session: forget what was read and power the card off (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._holder_file = None
        self._number_file_read = None
        self._verified = False
        self.opened_with = None
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> CardApChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
