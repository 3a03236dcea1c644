"""Encryption at rest for personal data waiting in the outbox (AES-256-GCM).

The key is a 32-byte file written when the kiosk is provisioned (`generate_key`); it
never enters the database. Each sealed value is bound to its outbox message key as
associated data, so a blob copied onto another message does not decrypt.

The 個人番号 must never reach the outbox at all: `refuse_my_number` is checked before
anything is sealed (the application record only carries a masked check anyway).
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.domain.errors import ConfigError
from kiosk.domain.my_number import text_where

_VERSION = b"\x01"
_NONCE = 12
# 12 digits (ASCII or full-width, optional space/hyphen separators) not inside a longer run.
_MY_NUMBER = re.compile(r"(?<![0-9０-９])(?:[0-9０-９][ -]?){11}[0-9０-９](?![0-9０-９])")


class PrivacyError(ValueError):
    """Data bound for the outbox looks like it carries a 個人番号."""


class SealError(ValueError):
    """A sealed value cannot be opened (wrong key, tampered, or bound to another message)."""


def refuse_my_number(data: Any, where: str = "application") -> None:
    """Raise PrivacyError if any text in `data` looks like an unmasked 12-digit number."""
    hit = text_where(data, where, lambda text: _MY_NUMBER.search(text) is not None)
    if hit is not None:
        raise PrivacyError(f"{hit}: contains what looks like a 個人番号; "
                           "only the masked check may leave the session")


def generate_key(path: str | os.PathLike[str]) -> Path:
    """Write a new random key (base64 text), readable by its owner only."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
    return p


def load_key(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    try:
        raw = p.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(str(p), "(file)", f"cannot read the outbox key: {exc.strerror}") \
            from None
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(str(p), "(file)", "must hold a base64 AES-256 key (32 bytes); "
                          "create one with `python -m kiosk.sync keygen PATH`")
    return key


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, value: Any, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return _VERSION + nonce + self._aead.encrypt(nonce, plain, bound_to.encode())

    def open(self, blob: bytes, bound_to: str) -> Any:
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise SealError("not a sealed value")
        try:
            plain = self._aead.decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], bound_to.encode())
        except InvalidTag:  # never say more than that
            raise SealError("cannot open sealed value") from None
        return json.loads(plain)
