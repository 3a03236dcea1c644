"""The maintainer PIN gate: this kiosk's own hash, five wrong tries lock it for 15
minutes, the lock outlives a restart, every attempt is reported (never the PIN)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kiosk.ui.maintainer_gate import LOCK_SECONDS, MAX_WRONG, MaintainerGate, hash_pin

PIN = "604281"
HASH = hash_pin(PIN)


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def gate(tmp_path: Path, clock: Clock, reports: list[dict[str, Any]] | None = None,
         pin_hash: str = HASH) -> MaintainerGate:
    return MaintainerGate(pin_hash, tmp_path / "maintainer-lock.json", clock=clock,
                          on_attempt=None if reports is None else reports.append)


def test_right_pin_opens_wrong_pin_does_not(tmp_path: Path) -> None:
    g = gate(tmp_path, Clock())
    assert g.available and g.attempt("000000") == "wrong" and g.tries_left() == MAX_WRONG - 1
    assert g.attempt(PIN) == "ok" and g.tries_left() == MAX_WRONG   # the streak ends


def test_five_wrong_tries_lock_for_fifteen_minutes_even_the_right_pin(tmp_path: Path) -> None:
    clock = Clock()
    g = gate(tmp_path, clock)
    assert [g.attempt(str(n)) for n in range(MAX_WRONG)] == ["wrong"] * MAX_WRONG
    assert g.locked() and g.tries_left() == 0
    assert g.attempt(PIN) == "locked"                  # not even checked
    clock.now += LOCK_SECONDS - 1
    assert g.attempt(PIN) == "locked"
    clock.now += 1
    assert not g.locked() and g.attempt(PIN) == "ok"


def test_the_lock_and_the_count_outlive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    first = gate(tmp_path, clock)
    for n in range(MAX_WRONG - 1):
        first.attempt(str(n))
    again = gate(tmp_path, clock)                      # the app restarted
    assert again.tries_left() == 1
    assert again.attempt("999999") == "wrong" and again.locked()
    third = gate(tmp_path, clock)
    assert third.locked() and third.attempt(PIN) == "locked"
    assert PIN not in (tmp_path / "maintainer-lock.json").read_text()


def test_an_unreadable_state_locks_rather_than_opens(tmp_path: Path) -> None:
    (tmp_path / "maintainer-lock.json").write_text("{not json")
    g = gate(tmp_path, Clock())
    assert g.locked() and g.attempt(PIN) == "locked"


def test_no_provisioned_hash_no_exit(tmp_path: Path) -> None:
    g = gate(tmp_path, Clock(), pin_hash="")
    assert not g.available and g.attempt("") == "wrong"


def test_every_attempt_is_reported_without_the_pin(tmp_path: Path) -> None:
    clock = Clock()
    reports: list[dict[str, Any]] = []
    g = gate(tmp_path, clock, reports)
    g.attempt(PIN)
    for n in range(MAX_WRONG):
        g.attempt(f"11111{n}")
    g.attempt(PIN)
    last = reports[-1]
    assert len(reports) == MAX_WRONG + 2
    assert (last["ok"], last["wrong"], last["locked"], last["last"]) == (1, MAX_WRONG, 1,
                                                                         "locked")
    assert last["locked_until"].endswith("+00:00") and last["last_at"].endswith("+00:00")
    assert PIN not in json.dumps(reports) and "111110" not in json.dumps(reports)


def test_a_failing_report_does_not_change_the_answer(tmp_path: Path) -> None:
    def broken(_report: dict[str, Any]) -> None:
        raise OSError("back-office down")
    g = MaintainerGate(HASH, tmp_path / "m.json", clock=Clock(), on_attempt=broken)
    assert g.attempt(PIN) == "ok"


@pytest.mark.parametrize("cost", ["m=19456,t=1,p=1", "m=4096,t=3,p=1"])
def test_hash_pin_meets_the_provisioning_minimum(cost: str) -> None:
    assert cost not in HASH and "m=19456,t=2,p=1" in HASH


@pytest.mark.parametrize(("pin", "problem"), [
    ("1234", "6 to 12 digits"), ("12a456", "only digits"), ("１２３４５６", "only digits"),
    ("777777", "not a run"), ("345678", "not a run"), ("987654", "not a run"),
    ("604281", None),
])
def test_a_new_pin_is_long_enough_and_not_obvious(pin: str, problem: str | None) -> None:
    from kiosk.ui.maintainer_gate import new_pin_problem
    got = new_pin_problem(pin)
    assert got == problem if problem is None else problem in (got or "")


def test_hash_pin_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    from kiosk.ui.maintainer_gate import pin_matches
    repo = Path(__file__).resolve().parents[2]
    run = [sys.executable, "-m", "kiosk", "--hash-pin"]
    done = subprocess.run(run, input="604281\n", capture_output=True, text=True, cwd=repo,
                          timeout=60)
    assert done.returncode == 0 and pin_matches(done.stdout.strip(), "604281")
    assert "604281" not in done.stdout + done.stderr
    weak = subprocess.run(run, input="1234\n", capture_output=True, text=True, cwd=repo,
                          timeout=60)
    assert weak.returncode == 2 and "6 to 12 digits" in weak.stderr and not weak.stdout
