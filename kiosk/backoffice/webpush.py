"""Web Push from the server's side: RFC 8291 message encryption (aes128gcm, RFC 8188),
VAPID (RFC 8292) and the RFC 8030 POST to the subscription's push service.

Only `cryptography` (ECDH P-256, HKDF-SHA-256, AES-128-GCM, ECDSA P-256) and `requests`:
no push library. The VAPID key pair is the ward's (`[notify] vapid_private_key`, a PEM file
made by `ward-backoffice vapid-keys`); its public key is the page's applicationServerKey.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RECORD_SIZE = 4096


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed point (65 bytes), as browsers and push services use it."""
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return pub.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def _hkdf(salt: bytes, info: bytes, length: int, ikm: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def encrypt(payload: bytes, ua_public: bytes, auth_secret: bytes, *,
            as_private: ec.EllipticCurvePrivateKey | None = None,
            salt: bytes | None = None) -> bytes:
    """The RFC 8291 body (aes128gcm): header (salt, rs, keyid = our ephemeral public key)
    and one record. `as_private`/`salt` are fresh unless given (the RFC's test vector)."""
    if len(auth_secret) != 16 or len(ua_public) != 65:
        raise ValueError("a subscription has a 65-byte p256dh and a 16-byte auth secret")
    if len(payload) > RECORD_SIZE - 17 - 86:
        raise ValueError("payload too large for one record")
    as_private = as_private or ec.generate_private_key(ec.SECP256R1())
    salt = salt or os.urandom(16)
    as_public = public_bytes(as_private)
    ua_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    shared = as_private.exchange(ec.ECDH(), ua_key)
    ikm = _hkdf(auth_secret, b"WebPush: info\x00" + ua_public + as_public, 32, shared)
    cek = _hkdf(salt, b"Content-Encoding: aes128gcm\x00", 16, ikm)
    nonce = _hkdf(salt, b"Content-Encoding: nonce\x00", 12, ikm)
    record = AESGCM(cek).encrypt(nonce, payload + b"\x02", None)  # \x02: the last record
    return salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public + record


@dataclass(frozen=True)
class Vapid:
    private: ec.EllipticCurvePrivateKey
    subject: str

    @classmethod
    def from_file(cls, path: str, subject: str) -> Vapid:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path}: not an EC P-256 private key")
        return cls(key, subject)

    @property
    def public_key(self) -> str:
        """base64url of the uncompressed public key: the page's applicationServerKey."""
        return b64u(public_bytes(self.private))

    def header(self, endpoint: str, now: float | None = None) -> str:
        """`Authorization: vapid t=<JWT ES256>, k=<public key>` for the endpoint's origin."""
        parts = urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}",
                  "exp": int((now or time.time()) + 12 * 3600), "sub": self.subject}
        signing = (b64u(json.dumps({"typ": "JWT", "alg": "ES256"}).encode()) + "."
                   + b64u(json.dumps(claims, separators=(",", ":")).encode()))
        r, s = decode_dss_signature(self.private.sign(signing.encode(),
                                                      ec.ECDSA(hashes.SHA256())))
        jwt = signing + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return f"vapid t={jwt}, k={self.public_key}"


def new_key_pem() -> tuple[bytes, str]:
    """A fresh VAPID key: (PEM of the private key, base64url public key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, b64u(public_bytes(key))


class PushGone(Exception):
    """404/410 from the push service: the subscription no longer exists."""


class PushFailed(Exception):
    """A failed attempt; `retry` False when trying again cannot help (e.g. 400, 413)."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def send(vapid: Vapid, endpoint: str, p256dh: str, auth: str, message: dict[str, Any], *,
         ttl: int, timeout: float, session: requests.Session | None = None) -> int:
    """POST one encrypted message (RFC 8030); the push service's status, or an exception."""
    body = encrypt(json.dumps(message, ensure_ascii=False).encode(), unb64u(p256dh),
                   unb64u(auth))
    headers = {"TTL": str(ttl), "Content-Encoding": "aes128gcm",
               "Content-Type": "application/octet-stream", "Urgency": "high",
               "Authorization": vapid.header(endpoint)}
    try:
        r = (session or requests).post(endpoint, data=body, headers=headers, timeout=timeout,
                                       allow_redirects=False)
    except requests.RequestException as exc:
        raise PushFailed(f"push service unreachable ({type(exc).__name__})", True) from None
    if r.status_code in (404, 410):
        raise PushGone(f"push service answered {r.status_code}")
    if r.status_code == 429 or r.status_code >= 500:
        raise PushFailed(f"push service answered {r.status_code}", True)
    if r.status_code >= 300:
        raise PushFailed(f"push service answered {r.status_code}", False)
    return r.status_code
