"""The PC/SC rig on any machine: every rig gets its own pcscd socket without privilege (so
rigs, a demo and the test suite run side by side), and the shared-socket fallback
(WARD_PCSCD_SHARED=1) reads a card too, and refuses within seconds, naming the holder,
when another rig has it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hardware.card.rig import (
    DEFAULT_SOCKET,
    CardSlot,
    PcscdBusy,
    PrivatePcscd,
    SharedLock,
    system_pcscd,
)
from tests.support.pcsc import hold_shared_pcscd

from .conftest import REPO

pytestmark = pytest.mark.pcsc


def read_card(pcscd: PrivatePcscd, pin: str = "1234") -> dict[str, object]:
    """The kiosk's card stack in a subprocess, talking to `pcscd` only."""
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.card", "read", "--reader", pcscd.reader, "--pin-stdin",
         "--json", "--timeout", "20"], input=pin + "\n", capture_output=True, text=True,
        cwd=REPO, env=pcscd.env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def started(directory: Path) -> PrivatePcscd:
    directory.mkdir(mode=0o755)
    pcscd = PrivatePcscd(directory)
    pcscd.start()
    return pcscd


def test_two_more_rigs_run_beside_the_sessions_each_on_its_own_socket(tmp_path, pcsc):
    if not pcsc.private:
        pytest.skip("WARD_PCSCD_SHARED=1: this session's pcscd holds the one shared socket")
    rigs = [started(tmp_path / "a"), started(tmp_path / "b")]
    try:
        assert all(r.private and r.socket.parent == r.directory for r in rigs)
        assert len({r.port for r in rigs} | {pcsc.port}) == 3
        slots = [CardSlot(r, r.directory) for r in rigs]
        slots[0].insert("yamada", wait=False)
        slots[1].insert("suzuki", wait=False)
        names = [read_card(r, pin)["holder"]["family_name"]  # type: ignore[index]
                 for r, pin in zip(rigs, ["1234", "5678"], strict=True)]
        assert names == ["山田", "𠮷野"]
        for slot in slots:
            slot.remove()
    finally:
        for r in rigs:
            r.stop()
    assert not any(r.socket.exists() for r in rigs)


def test_the_shared_fallback_reads_a_card(tmp_path, monkeypatch):
    if SharedLock.held_here():
        pytest.skip("WARD_PCSCD_SHARED=1: this session's pcscd already is the shared one")
    if system_pcscd():
        pytest.skip(f"a system pcscd holds {DEFAULT_SOCKET}; the fallback needs it free")
    monkeypatch.setenv("WARD_PCSCD_SHARED", "1")
    monkeypatch.setenv("WARD_PCSCD_LOCK_WAIT", "120")  # a parallel test run may hold it
    pcscd = started(tmp_path / "shared")
    try:
        assert not pcscd.private and pcscd.socket == DEFAULT_SOCKET
        CardSlot(pcscd, tmp_path).insert("yamada", wait=False)
        assert read_card(pcscd)["holder"]["family_name"] == "山田"  # type: ignore[index]
    finally:
        pcscd.stop()
    assert not SharedLock.held_here()


def test_a_busy_shared_pcscd_is_refused_within_seconds_naming_its_holder(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("WARD_PCSCD_SHARED", "1")
    monkeypatch.setenv("WARD_PCSCD_LOCK_WAIT", "1")
    with hold_shared_pcscd() as holder:
        tmp_path.chmod(0o755)
        pcscd = PrivatePcscd(tmp_path)
        began = time.monotonic()
        try:
            with pytest.raises(PcscdBusy) as refused:
                pcscd.start()
        finally:
            pcscd.stop()  # had it started (the protection gone), it must not linger
        took = time.monotonic() - began
    assert took < 5
    if not SharedLock.held_here():  # else: this very process is the holder, and says so
        assert f"pid {holder} (" in str(refused.value)
        assert "WARD_PCSCD_SHARED" in str(refused.value)
