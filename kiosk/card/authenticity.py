"""Offline authenticity check of what was read, with trusted CA keys (no network).

EF 0004 is the AP's card-verifiable certificate
``7F21{5F4E[issuer key id 16 | subject key id 16 | 90 exponent | 91 modulus], 5F37 sig}``;
the CA signs the whole 5F4E TLV (PKCS#1 v1.5, SHA-256). EF 0003 ``FF30{DF31, DF32, DF33}``
holds SHA-256 digests of EF 0001 and of EF 0002 from DF22 on, signed (DF33) by the AP key.
A copied card passes these static checks; the optional live challenge (EF 0007's key
signs a fresh digest) catches that.

Outcome: GENUINE; NOT_VERIFIABLE only when no CA is configured; TAMPERED when the
certificate's issuer is not a configured CA (so configure every J-LIS CA generation in
use) or a signature or digest does not match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.card import tlv
from kiosk.card.errors import CardDataError
from kiosk.card.holder import signed_span
from kiosk.domain.application import Authenticity

TAG_CERT = 0x7F21
TAG_CERT_BODY = 0x5F4E
TAG_CERT_SIGNATURE = 0x5F37
TAG_EXPONENT = 0x90
TAG_MODULUS = 0x91
TAG_INTEGRITY = 0xFF30
TAG_DIGEST_NUMBER = 0xDF31
TAG_DIGEST_HOLDER = 0xDF32
TAG_INTEGRITY_SIGNATURE = 0xDF33
TAG_CHALLENGE = 0xFF50
TAG_CHALLENGE_KEY = 0xDF51
TAG_CHALLENGE_KEY_SIGNATURE = 0xDF52

# DER prefix of a SHA-256 DigestInfo (PKCS#1 v1.5).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def key_id(public_key: rsa.RSAPublicKey) -> bytes:
    """Our default 16-byte key id: the first half of SHA-256 of the DER public key."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:16]


@dataclass(frozen=True)
class TrustedCa:
    key_id: bytes
    public_key: rsa.RSAPublicKey

    @classmethod
    def from_pem(cls, pem: bytes, key_id_hex: str | None = None) -> TrustedCa:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a trusted CA key must be an RSA public key")
        kid = bytes.fromhex(key_id_hex) if key_id_hex else key_id(key)
        if len(kid) != 16:
            raise ValueError("a CA key id is 16 bytes (32 hex digits)")
        return cls(kid, key)

    @classmethod
    def from_file(cls, path: str | Path, key_id_hex: str | None = None) -> TrustedCa:
        return cls.from_pem(Path(path).read_bytes(), key_id_hex)


@dataclass(frozen=True)
class AuthenticityResult:
    status: Authenticity   # kiosk.domain.application.Authenticity
    reason: str            # English, for staff and logs; no personal data
    live_checked: bool = False

    @property
    def genuine(self) -> bool:
        return self.status is Authenticity.GENUINE


def _structure(data: bytes, ef: str, outer_tag: int,
               *tags: int) -> tuple[bytes, dict[int, tlv.Tlv]]:
    """The outer TLV's value and its children, which must include `tags`."""
    outer = tlv.parse_one(data)
    if outer.tag != outer_tag:
        raise CardDataError(f"EF {ef} starts with {outer.tag:X}, expected {outer_tag:X}")
    parts = tlv.children(outer.value)
    missing = [f"{t:X}" for t in tags if t not in parts]
    if missing:
        raise CardDataError(f"EF {ef} lacks {', '.join(missing)}")
    return outer.value, parts


def _rsa_key(body: bytes) -> rsa.RSAPublicKey:
    parts = tlv.children(body)
    if TAG_EXPONENT not in parts or TAG_MODULUS not in parts:
        raise CardDataError("public key lacks exponent or modulus")
    e = int.from_bytes(parts[TAG_EXPONENT].value, "big")
    n = int.from_bytes(parts[TAG_MODULUS].value, "big")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise CardDataError(f"bad RSA key: {exc}") from None


@dataclass(frozen=True)
class ApCertificate:
    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: rsa.RSAPublicKey
    signed: bytes      # the 5F4E TLV, as encoded
    signature: bytes

    @classmethod
    def parse(cls, ef0004: bytes) -> ApCertificate:
        value, parts = _structure(ef0004, "0004", TAG_CERT, TAG_CERT_BODY, TAG_CERT_SIGNATURE)
        body = parts[TAG_CERT_BODY]
        if len(body.value) < 32:
            raise CardDataError("EF 0004 body too short")
        return cls(
            issuer_key_id=body.value[:16],
            subject_key_id=body.value[16:32],
            public_key=_rsa_key(body.value[32:]),
            signed=value[body.start:body.end],
            signature=parts[TAG_CERT_SIGNATURE].value,
        )


def _verify(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def check(ef0002: bytes, ef0003: bytes, ef0004: bytes, trusted: Iterable[TrustedCa],
          ef0001: bytes | None = None) -> AuthenticityResult:
    """The static check. Malformed signature files count as tampered."""
    cas = {ca.key_id: ca for ca in trusted}
    if not cas:
        return AuthenticityResult(Authenticity.NOT_VERIFIABLE, "no trusted CA configured")
    try:
        cert = ApCertificate.parse(ef0004)
    except CardDataError as exc:
        return AuthenticityResult(Authenticity.TAMPERED, f"certificate malformed: {exc.detail}")
    ca = cas.get(cert.issuer_key_id)
    if ca is None:
        return AuthenticityResult(Authenticity.TAMPERED,
                                  f"issuer {cert.issuer_key_id.hex()} is not a trusted CA")
    if not _verify(ca.public_key, cert.signature, cert.signed):
        return AuthenticityResult(Authenticity.TAMPERED, "certificate signature invalid")
    try:
        value, parts = _structure(ef0003, "0003", TAG_INTEGRITY, TAG_DIGEST_NUMBER,
                                  TAG_DIGEST_HOLDER, TAG_INTEGRITY_SIGNATURE)
        d31, d32 = parts[TAG_DIGEST_NUMBER], parts[TAG_DIGEST_HOLDER]
        sig = parts[TAG_INTEGRITY_SIGNATURE].value
        holder_bytes = signed_span(ef0002)
    except CardDataError as exc:
        return AuthenticityResult(Authenticity.TAMPERED, f"integrity record malformed: {exc}")
    signed = value[d31.start:d31.end] + value[d32.start:d32.end]
    if not _verify(cert.public_key, sig, signed):
        return AuthenticityResult(Authenticity.TAMPERED, "integrity signature invalid")
    if hashlib.sha256(holder_bytes).digest() != d32.value:
        return AuthenticityResult(Authenticity.TAMPERED, "basic four do not match the digest")
    if ef0001 is not None and hashlib.sha256(ef0001).digest() != d31.value:
        return AuthenticityResult(Authenticity.TAMPERED, "number does not match the digest")
    return AuthenticityResult(Authenticity.GENUINE, "signatures and digests match")


def challenge_key(ef0007: bytes, cert: ApCertificate) -> rsa.RSAPublicKey:
    """The live-challenge key of EF 0007, after checking the AP key signed it."""
    value, parts = _structure(ef0007, "0007", TAG_CHALLENGE, TAG_CHALLENGE_KEY,
                              TAG_CHALLENGE_KEY_SIGNATURE)
    key_item = parts[TAG_CHALLENGE_KEY]
    if not _verify(cert.public_key, parts[TAG_CHALLENGE_KEY_SIGNATURE].value,
                   value[key_item.start:key_item.end]):
        raise CardDataError("EF 0007 key signature invalid")
    return _rsa_key(key_item.value)


def verify_challenge(key: rsa.RSAPublicKey, nonce: bytes, signature: bytes) -> bool:
    return _verify(key, signature, nonce)
