"""A stand-in card from a TOML profile: holder data, PIN, tries, and signature files.

EF 0003/0004/0007 are signed at load time with the keys in `testca/`, so a profile only
holds what a card holder would recognise; `tamper` spoils one thing for tests.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TESTCA = Path(__file__).resolve().parent / "testca"
PROFILES = Path(__file__).resolve().parent / "profiles"
TAMPER = ("", "holder", "signature", "unknown_ca", "forged_cert", "clone")
AID = bytes.fromhex("D3921000310001010408")
ATR = bytes.fromhex("3BE000FF8131FE4514")  # contact interface, T=1


def tlv(tag: int, value: bytes) -> bytes:
    """Our own small encoder, independent of the kiosk's parser on purpose."""
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag_bytes + length + value


# Era starts (YYYYMMDD), newest first — our own table, independent of kiosk.domain.wareki
# on purpose: the stand-in card must not share a bug with the code it tests.
ERAS = (("20190501", 2019), ("19890108", 1989), ("19261225", 1926), ("19120730", 1912),
        ("18681023", 1868))


def era_yymmdd(birth_date: str) -> str:
    """19850307 → 600307 (昭和60年3月7日); 20200224 → 020224 (令和2年)."""
    for start, first_year in ERAS:
        if birth_date >= start:
            return f"{int(birth_date[:4]) - first_year + 1:02d}{birth_date[4:]}"
    raise ValueError(f"birth date {birth_date} before Meiji")


def load_key(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((TESTCA / f"{name}-key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def key_id(key: rsa.RSAPublicKey) -> bytes:
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:16]


def public_tlvs(key: rsa.RSAPublicKey) -> bytes:
    numbers = key.public_numbers()
    return tlv(0x90, numbers.e.to_bytes(3, "big")) + \
        tlv(0x91, numbers.n.to_bytes(key.key_size // 8, "big"))


def sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


@dataclass
class Profile:
    name: str
    address: str
    birth_date: str
    sex: str
    my_number: str
    pin: str = "1234"            # "" = a card issued without a PIN (顔認証マイナンバーカード)
    tries_left: int = 3
    expiry_year: str = "2035"    # printed on the card face (有効期限, Western year)
    security_code: str = "0000"  # printed on the card face (セキュリティコード, 4 digits)
    code_b_tries: int = 10
    code_b_max: int = 10
    tamper: str = ""
    pull_after: int = 0          # the card "leaves" on the N-th APDU (0 = never)
    files: dict[int, bytes] = field(default_factory=dict)
    challenge_key: rsa.RSAPrivateKey | None = None

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        holder, card = data["holder"], data.get("card", {})
        profile = cls(
            name=holder["name"], address=holder["address"],
            birth_date=str(holder["birth_date"]), sex=str(holder["sex"]),
            my_number=str(card.get("my_number", "123456789018")),
            pin=str(card.get("pin", "1234")), tries_left=int(card.get("tries_left", 3)),
            expiry_year=str(card.get("expiry_year", "2035")),
            security_code=str(card.get("security_code", "0000")),
            code_b_tries=int(card.get("code_b_tries", 10)),
            code_b_max=int(card.get("code_b_max", 10)),
            tamper=str(card.get("tamper", "")), pull_after=int(card.get("pull_after", 0)),
        )
        if profile.tamper not in TAMPER:
            raise ValueError(f"{path}: tamper must be one of {TAMPER}")
        profile.build()
        return profile

    @property
    def code_b(self) -> str:
        """照合番号B as the card holds it: era YYMMDD + expiry year + security code."""
        return era_yymmdd(self.birth_date) + self.expiry_year + self.security_code

    def holder_file(self) -> bytes:
        fields = [tlv(0xDF22, self.name.encode()), tlv(0xDF23, self.address.encode()),
                  tlv(0xDF24, self.birth_date.encode()), tlv(0xDF25, self.sex.encode())]
        offsets, at = b"", 11  # DF21 08 + 8 bytes of offsets precede the first field
        for f in fields:
            offsets += at.to_bytes(2, "big")
            at += len(f)
        return tlv(0xFF20, tlv(0xDF21, offsets) + b"".join(fields))

    def build(self) -> None:
        ca, ap = load_key("ca"), load_key("ap")
        other = load_key("other-ca")
        self.challenge_key = load_key("clone-challenge" if self.tamper == "clone" else
                                      "challenge")
        published = load_key("challenge")
        number = b"\xFF\x10\x0C" + self.my_number.encode() + b"\xFF\xFF"
        holder = self.holder_file()
        span = holder[holder.index(b"\xDF\x22"):]
        digests = tlv(0xDF31, hashlib.sha256(number).digest()) + \
            tlv(0xDF32, hashlib.sha256(span).digest())
        signature = bytearray(sign(ap, digests))
        if self.tamper == "signature":
            signature[100] ^= 0x01
        issuer = other if self.tamper == "unknown_ca" else ca
        signer = other if self.tamper in ("unknown_ca", "forged_cert") else ca
        body = tlv(0x5F4E, key_id(issuer.public_key()) + key_id(ap.public_key()) +
                   public_tlvs(ap.public_key()))
        cert = tlv(0x7F21, body + tlv(0x5F37, sign(signer, body)))
        key_item = tlv(0xDF51, public_tlvs(published.public_key()))
        if self.tamper == "holder":  # one byte of the address changes after signing
            at = holder.index(self.address.encode()[:3]) if self.address else len(holder) - 1
            altered = bytearray(holder)
            altered[at + 2] ^= 0x01
            holder = bytes(altered)
        self.files = {
            0x0001: number,
            0x0002: holder,
            0x0003: tlv(0xFF30, digests + tlv(0xDF33, bytes(signature))),
            0x0004: cert,
            0x0005: bytes.fromhex("FF4006DF410300010F"),  # AP info stand-in
            0x0007: tlv(0xFF50, key_item + tlv(0xDF52, sign(ap, key_item))),
        }
