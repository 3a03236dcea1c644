"""The J-LIS CA public keys of the provisioning file (`[card_reader] trusted_ca`), checked
before a kiosk takes them: each an RSA public key of at least 2048 bits, given as PEM text
or a PEM file beside the provisioning file, with an optional 16-byte key id (32 hex
digits, the 発行者鍵ID an AP certificate names; default: our SHA-256-based id, see
kiosk.card.authenticity.key_id). The test CA shipped for CI is refused: a production
kiosk that trusted it would call any stand-in card genuine.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.card.authenticity import TrustedCa
from kiosk.domain.card_check import UnverifiablePolicy
from kiosk.domain.section import Section

UNVERIFIABLE = tuple(p.value for p in UnverifiablePolicy)
KEY_ID = re.compile(r"^[0-9a-fA-F]{32}$")
TEST_CA = Path(__file__).resolve().parents[2] / "config" / "cards" / "test-ca.pem"
MIN_BITS = 2048


def _pem_of(s: Section, key: str, entry: object, base: Path) -> tuple[str, str | None]:
    if isinstance(entry, str):
        return entry, None
    if not isinstance(entry, dict) or not (("pem" in entry) ^ ("file" in entry)) \
            or set(entry) - {"pem", "file", "key_id"}:
        raise s.error(key, "must be PEM text or { pem = ..., key_id = ... } or "
                      "{ file = ..., key_id = ... }")
    kid = entry.get("key_id")
    if kid is not None and (not isinstance(kid, str) or not KEY_ID.match(kid)):
        raise s.error(key, "key_id must be 32 hex digits (the CA's 16-byte key id)")
    if "pem" in entry:
        pem = entry["pem"]
        if not isinstance(pem, str):
            raise s.error(key, "pem must be the PEM text of a public key")
        return pem, kid
    name = entry["file"]
    if not isinstance(name, str):
        raise s.error(key, "file must be a file name")
    try:
        return (base / name).read_text(encoding="ascii"), kid
    except (OSError, UnicodeDecodeError) as exc:
        raise s.error(key, f"cannot read {base / name}: {exc}") from None


def trusted_ca_entries(s: Section, base: Path) -> tuple[tuple[str, str], ...]:
    """[(PEM of the public key, key id hex)] — validated; errors name the entry."""
    raw = s.data.get("trusted_ca", [])
    if not isinstance(raw, list):
        raise s.error("trusted_ca", "must be a list of J-LIS CA public keys")
    test_id = TrustedCa.from_file(TEST_CA).key_id if TEST_CA.exists() else None
    out: list[tuple[str, str]] = []
    for i, entry in enumerate(raw):
        key = f"trusted_ca[{i}]"
        pem, kid = _pem_of(s, key, entry, base)
        try:
            ca = TrustedCa.from_pem(pem.encode("ascii", "replace"), kid)
        except ValueError as exc:
            raise s.error(key, f"is not an RSA public key in PEM ({exc})") from None
        if ca.public_key.key_size < MIN_BITS:
            raise s.error(key, f"an RSA key of {ca.public_key.key_size} bits; J-LIS CA keys "
                          f"have at least {MIN_BITS}")
        if test_id is not None and TrustedCa.from_pem(pem.encode()).key_id == test_id:
            raise s.error(key, "is the CI test CA (config/cards/test-ca.pem): never on a kiosk")
        if any(ca.key_id.hex() == k for _, k in out):
            raise s.error(key, f"lists key id {ca.key_id.hex()} twice")
        out.append((_public_pem(ca.public_key), ca.key_id.hex()))
    return tuple(out)


def _public_pem(key: rsa.RSAPublicKey) -> str:
    """Re-encoded, so only the public key reaches the kiosk's config (no stray text)."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
