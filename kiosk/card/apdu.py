"""Command APDUs of the 券面事項入力補助AP and the status words it answers with.

Only short APDUs (≤ 256 bytes a read). `describe()` renders a command for logs without
its data: a VERIFY's data is the PIN, so no command data is ever logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# 券面事項入力補助AP. Always the full 10 bytes: the card also matches a prefix, which can
# select a different AP.
AID_SUPPORT_AP = bytes.fromhex("D3921000310001010408")

EF_PIN = 0x0011
EF_CODE_B = 0x0015            # 照合番号B: birth date (era YYMMDD) + expiry year + security code
EF_MY_NUMBER = 0x0001
EF_HOLDER = 0x0002
EF_INTEGRITY = 0x0003
EF_AP_CERT = 0x0004
EF_AP_INFO = 0x0005
EF_CHALLENGE_KEY = 0x0007

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282       # READ BINARY: fewer bytes than Le were left
SW_BLOCKED = 0x6984           # authentication method blocked
SW_BLOCKED_ALT = 0x6983       # some cards/readers report this instead
SW_SECURITY = 0x6982          # security status not satisfied (PIN not verified)
SW_NOT_FOUND = 0x6A82         # file or application not found


class Transport(Protocol):
    """Anything that carries one APDU to the card and returns (data, SW1SW2)."""

    def transmit(self, command: bytes) -> tuple[bytes, int]: ...


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None   # 1..256; 256 is encoded as 00

    def encode(self) -> bytes:
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le & 0xFF])
        return out


def select_ap(aid: bytes = AID_SUPPORT_AP) -> Command:
    return Command(0x00, 0xA4, 0x04, 0x0C, aid)


def select_ef(ef: int) -> Command:
    return Command(0x00, 0xA4, 0x02, 0x0C, ef.to_bytes(2, "big"))


def tries_left() -> Command:
    """VERIFY without data: answers 63 Cx and uses no try."""
    return Command(0x00, 0x20, 0x00, 0x80)


def verify(pin: str) -> Command:
    """VERIFY of the selected key: the 4-digit PIN (EF 0011) or 照合番号B's 14 digits
    (EF 0015) — the same command, the key is the EF selected before."""
    return Command(0x00, 0x20, 0x00, 0x80, pin.encode("ascii"))


def read_binary(offset: int, length: int = 256) -> Command:
    if not 0 <= offset <= 0x7FFF:
        raise ValueError("READ BINARY offset is 15 bits")
    if not 1 <= length <= 256:
        raise ValueError("READ BINARY reads 1..256 bytes")
    return Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)


def internal_authenticate(digest_info: bytes) -> Command:
    return Command(0x80, 0x2A, 0x00, 0x00, digest_info, le=256)


NAMES = {0xA4: "SELECT", 0x20: "VERIFY", 0xB0: "READ BINARY", 0x2A: "SIGN"}


def describe(command: bytes) -> str:
    """Header and lengths only — command data (a PIN, a digest) is never shown."""
    if len(command) < 4:
        return f"short command ({len(command)} bytes)"
    name = NAMES.get(command[1], f"INS {command[1]:02X}")
    head = command[:4].hex(" ").upper()
    if command[1] == 0xA4 and len(command) > 5:
        return f"{name} {head} {command[5:].hex().upper()}"   # a file id / AID, not personal
    extra = f" Lc={command[4]}" if len(command) > 5 else ""
    return f"{name} {head}{extra}"
