"""The key of the stored hashes of booking contacts and client addresses (HMAC-SHA256).

A fixed default key would let anyone with a copy of the database brute-force the hashed
phone numbers (there are few of them). So the key is `WARD_APPOINTMENT_HASH_KEY` from the
environment when set (several hosts: give them all the same one), else the key file
(`[appointments] hash_key_file`, default var/appointment-hash-key): created on the first
start with 32 random bytes, mode 0600, outside the database — a database backup alone does
not hold it. Keep it with the server's secrets: a new key makes the stored hashes unknown
(the limits per contact start afresh; nothing else depends on them).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

ENV = "WARD_APPOINTMENT_HASH_KEY"
DEFAULT_FILE = "var/appointment-hash-key"
log = logging.getLogger(__name__)
_key: bytes | None = None


def read_or_create(path: str | Path) -> bytes:
    """The key in `path`, made (random, 0600) when there is none. Several processes
    starting at once agree: the file appears whole or not at all (link of a temp file)."""
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, p)
            log.warning("appointment hash key created in %s (mode 0600): keep it with the "
                        "server's secrets, the same on every host", p)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink()
    mode = stat.S_IMODE(p.stat().st_mode)
    if mode & 0o077:
        log.warning("%s can be read by others (mode %o): chmod 600 it", p, mode)
    key = p.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ValueError(f"{p}: the appointment hash key is too short (at least 32 "
                         "characters; delete the file to have a new one made)")
    return key.encode()


def start(path: str | Path = DEFAULT_FILE) -> bytes:
    """At server start: the environment's key, else the file's (made when missing)."""
    global _key
    env = os.environ.get(ENV, "")
    try:
        _key = env.encode() if env else read_or_create(path)
    except OSError as exc:
        raise RuntimeError(f"the appointment hash key file {path} cannot be made or read "
                           f"({exc.strerror}): set [appointments] hash_key_file to a path "
                           f"this user may write, or {ENV}") from exc
    return _key


def current() -> bytes:
    """The key in use (a process that did not `start`: the default file's)."""
    return _key if _key is not None else start()
