"""The maintainer PIN that closes the kiosk app: checked against this kiosk's own argon2id
hash (provisioned, docs/kiosk.md), five wrong tries in a row lock it for 15 minutes.

The state (wrong tries in a row, the lock, the attempts so far) is kept in a small JSON
file, so a restart — or pulling the plug — does not reset the count. Every attempt
(ok / wrong / locked) is handed to `on_attempt`, which the app wires to the back-office
heartbeat. No Kivy here: the dialog is kiosk.ui.maintainer.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_WRONG = 5                 # wrong tries in a row before the lock
LOCK_SECONDS = 15 * 60
MIN_DIGITS = 6                # a new PIN: at 5 guesses per 15 min, ~3 years on average
OUTCOMES = ("ok", "wrong", "locked")


def pin_matches(stored_hash: str, pin: str) -> bool:
    if not stored_hash or not pin:
        return False
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error
    try:
        return bool(PasswordHasher().verify(stored_hash, pin))
    except (Argon2Error, ValueError):
        return False


def new_pin_problem(pin: str) -> str | None:
    """Why `pin` cannot be a maintainer PIN (None: it can): the pad has digits only."""
    if not pin.isascii() or not pin.isdigit():
        return "only digits (the PIN pad has no other keys)"
    if not MIN_DIGITS <= len(pin) <= 12:
        return f"{MIN_DIGITS} to 12 digits"
    if len(set(pin)) == 1 or pin in "01234567890" or pin in "09876543210":
        return "not a run or a repeated digit"
    return None


def hash_pin(pin: str) -> str:
    from argon2 import PasswordHasher
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(pin)


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


class MaintainerGate:
    def __init__(self, pin_hash: str, state_file: Path | None, *,
                 clock: Callable[[], float] = time.time,
                 on_attempt: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.pin_hash = pin_hash
        self.state_file = state_file
        self.clock = clock
        self.on_attempt = on_attempt
        self.wrong_in_row = 0
        self.locked_until: float | None = None
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.last: str | None = None
        self.last_at: float | None = None
        self._load()

    @property
    def available(self) -> bool:
        """False on a kiosk provisioned without a maintainer PIN: no maintainer exit."""
        return bool(self.pin_hash)

    def locked(self) -> bool:
        return self.locked_until is not None and self.clock() < self.locked_until

    def tries_left(self) -> int:
        return 0 if self.locked() else MAX_WRONG - self.wrong_in_row

    def attempt(self, pin: str) -> str:
        """Check a PIN: "ok", "wrong" or "locked" (not even checked)."""
        now = self.clock()
        if self.locked():
            outcome = "locked"
        else:
            if self.locked_until is not None:      # the lock ran out: a fresh count
                self.locked_until, self.wrong_in_row = None, 0
            if pin_matches(self.pin_hash, pin):
                outcome, self.wrong_in_row = "ok", 0
            else:
                outcome = "wrong"
                self.wrong_in_row += 1
                if self.wrong_in_row >= MAX_WRONG:
                    self.locked_until = now + LOCK_SECONDS
        self.counts[outcome] += 1
        self.last, self.last_at = outcome, now
        self._save()
        level = logging.INFO if outcome == "ok" else logging.WARNING
        log.log(level, "maintainer PIN: %s (%d wrong in a row%s)", outcome, self.wrong_in_row,
                f"; locked until {_iso(self.locked_until)}" if self.locked() else "")
        if self.on_attempt is not None:
            try:
                self.on_attempt(self.report())
            except Exception:  # reporting must never open or keep shut the exit
                log.exception("could not report the maintainer PIN attempt")
        return outcome

    def report(self) -> dict[str, Any]:
        """For the back-office (heartbeat `maintainer_unlock`): counts, never the PIN."""
        return {**self.counts, "last": self.last, "last_at": _iso(self.last_at),
                "locked_until": _iso(self.locked_until) if self.locked() else None}

    # -- the state file -------------------------------------------------------------------
    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.wrong_in_row = int(data["wrong_in_row"])
            self.locked_until = None if data["locked_until"] is None \
                else float(data["locked_until"])
            self.counts.update({k: int(data["counts"][k]) for k in OUTCOMES})
            self.last, self.last_at = data.get("last"), data.get("last_at")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Unreadable: fail closed (a lock), never open with a fresh count.
            log.error("maintainer PIN state %s unreadable (%s); locked for %d min",
                      self.state_file, type(exc).__name__, LOCK_SECONDS // 60)
            self.locked_until = self.clock() + LOCK_SECONDS

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {"wrong_in_row": self.wrong_in_row, "locked_until": self.locked_until,
                "counts": self.counts, "last": self.last, "last_at": self.last_at}
        try:
            fd, tmp = tempfile.mkstemp(dir=self.state_file.parent,
                                       prefix=f".{self.state_file.name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log.error("cannot keep the maintainer PIN state in %s: %s", self.state_file, exc)
