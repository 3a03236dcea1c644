"""The 券面事項入力補助AP's behaviour: one command APDU in, one response APDU out.

Logs every APDU it receives (logger ``hardware.card.apdu``) with command data withheld
for VERIFY (the PIN) and responses logged as status word + length only, so neither the
PIN nor the number ever reaches a log.
"""

from __future__ import annotations

import logging

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils

from hardware.card.profile import AID, Profile

apdu_log = logging.getLogger("hardware.card.apdu")

DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")
# Which key opens which EF (soltia48/myna-card, src/ap/text.rs — docs/card.md): the PIN
# opens all; 照合番号B opens the basic four, the integrity record and EF 0007 but NOT the
# number; EF 0004/0005 need nothing.
OPENS = {"pin": {0x0001, 0x0002, 0x0003, 0x0007}, "code_b": {0x0002, 0x0003, 0x0007}}
PROTECTED = OPENS["pin"]
KEYS = {0x0011: "pin", 0x0015: "code_b"}
MAX_TRIES = 3


def sw(code: int, data: bytes = b"") -> bytes:
    return data + code.to_bytes(2, "big")


def describe(command: bytes) -> str:
    if len(command) < 4:
        return command.hex(" ").upper()
    head = command[:4].hex(" ").upper()
    if command[1] == 0x20 and len(command) > 4:
        return f"{head} {command[4]:02X} " + " ".join("**" for _ in command[5:])
    return command.hex(" ").upper()


class MyNumberApplet:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.tries = {"pin": profile.tries_left, "code_b": profile.code_b_tries}
        self.received = 0
        self.power_off()

    def power_off(self) -> None:
        """Power loss ends every security state (a VERIFY does not survive it)."""
        self.selected = False
        self.current: int | None = None
        self.opened: str | None = None   # the key that VERIFY accepted: "pin" | "code_b"

    def process(self, command: bytes) -> bytes:
        self.received += 1
        apdu_log.info("APDU %s", describe(command))
        response = self._process(command)
        apdu_log.info("  -> %s (%d bytes)", response[-2:].hex().upper(), len(response) - 2)
        return response

    def _process(self, c: bytes) -> bytes:
        if len(c) < 4:
            return sw(0x6700)
        cla, ins, p1, p2 = c[0], c[1], c[2], c[3]
        body, le = self._split(c)
        if body is None:
            return sw(0x6700)
        if cla == 0x00 and ins == 0xA4:
            return self._select(p1, body)
        if cla == 0x00 and ins == 0x20 and p1 == 0x00 and p2 == 0x80:
            return self._verify(body)
        if cla == 0x00 and ins == 0xB0:
            return self._read((p1 & 0x7F) << 8 | p2, le)
        if cla == 0x80 and ins == 0x2A:
            return self._sign(body)
        return sw(0x6D00 if cla in (0x00, 0x80) else 0x6E00)

    @staticmethod
    def _split(c: bytes) -> tuple[bytes | None, int]:
        if len(c) == 4:
            return b"", 256
        if len(c) == 5:
            return b"", c[4] or 256
        lc = c[4]
        if len(c) == 5 + lc:
            return c[5:], 256
        if len(c) == 6 + lc:
            return c[5:5 + lc], c[-1] or 256
        return None, 0

    def _select(self, p1: int, data: bytes) -> bytes:
        if p1 == 0x04:
            self.selected = data == AID   # full AID only
            self.current = None
            return sw(0x9000 if self.selected else 0x6A82)
        if p1 == 0x02 and len(data) == 2 and self.selected:
            ef = int.from_bytes(data, "big")
            if ef in KEYS or ef in self.profile.files:
                self.current = ef
                return sw(0x9000)
        return sw(0x6A82)

    def _verify(self, value: bytes) -> bytes:
        if not self.selected or self.current not in KEYS:
            return sw(0x6986)
        key = KEYS[self.current]
        if key == "pin" and not self.profile.pin:
            # A card issued without a PIN (顔認証マイナンバーカード): ASSUMED to answer like a
            # blocked key (docs/card.md); no public source shows a real one's answer.
            return sw(0x6984)
        if self.tries[key] == 0:
            return sw(0x6984)
        if not value:
            return sw(0x9000 if self.opened == key else 0x63C0 | min(self.tries[key], 15))
        expected = (self.profile.pin if key == "pin" else self.profile.code_b).encode()
        if value == expected:
            self.tries[key] = MAX_TRIES if key == "pin" else self.profile.code_b_max
            self.opened = key
            return sw(0x9000)
        self.tries[key] -= 1
        self.opened = None
        return sw(0x63C0 | min(self.tries[key], 15))

    def _read(self, offset: int, le: int) -> bytes:
        if not self.selected or self.current is None or self.current in KEYS:
            return sw(0x6986)
        if self.current in PROTECTED and (
                self.opened is None or self.current not in OPENS[self.opened]):
            return sw(0x6982)
        data = self.profile.files[self.current]
        if offset >= len(data):
            return sw(0x6B00)
        chunk = data[offset:offset + le]
        return sw(0x9000 if len(chunk) == le else 0x6282, chunk)

    def _sign(self, digest_info: bytes) -> bytes:
        key = self.profile.challenge_key
        if not self.selected or key is None:
            return sw(0x6986)
        if len(digest_info) != 51 or not digest_info.startswith(DIGEST_INFO_SHA256):
            return sw(0x6A80)
        signature = key.sign(digest_info[19:], padding.PKCS1v15(),
                             utils.Prehashed(hashes.SHA256()))
        return sw(0x9000, signature)
