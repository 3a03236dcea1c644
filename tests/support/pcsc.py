"""pcscd + vsmartcard-vpcd + the stand-in card, private to this test session.

Fixtures (loaded for the whole suite by tests/conftest.py; the machinery is in
hardware/card/rig.py):

- ``pcsc`` (session): a private pcscd with one vpcd reader on a free TCP port.
  ``pcsc.reader`` is the reader name, ``pcsc.env`` the environment for subprocesses
  (``PCSCLITE_CSOCK_NAME``). This process's ``PCSCLITE_CSOCK_NAME`` is set at start-up
  (``pytest_configure``), before any PC/SC call, so pyscard here talks to it too.
- ``card_slot`` (function): ``card_slot.insert("yamada", tries_left=1, tamper="holder")``
  starts the stand-in card (profile name in hardware/card/profiles or a path, plus
  overrides of the ``[card]``/``[holder]`` keys) and waits until pcscd sees it;
  ``card_slot.remove()`` / ``card.pull()`` kills it; ``card.apdu_log()`` is its APDU log.
  Whatever is still inserted is pulled at teardown.
- ``hold_shared_pcscd()`` (context manager): makes sure someone holds the shared pcscd's
  lock (a helper process, or this session when it runs in the fallback mode,
  ``WARD_PCSCD_SHARED=1``) and yields the holder's pid.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware.card.rig import REPO, CardSlot, InsertedCard, PrivatePcscd, SharedLock, start_pcscd

__all__ = ["CardSlot", "InsertedCard", "PrivatePcscd", "card_slot", "hold_shared_pcscd", "pcsc",
           "start_pcscd"]

_state: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    # Before any PC/SC call of this process: libpcsclite reads the variable once. The
    # folder itself is made only if a test asks for pcscd.
    directory = Path(tempfile.gettempdir()) / f"ward-pcsc-{os.getpid()}-{os.urandom(4).hex()}"
    _state["dir"] = directory
    os.environ["PCSCLITE_CSOCK_NAME"] = str(directory / "pcscd.comm")


def pytest_unconfigure(config: pytest.Config) -> None:
    pcscd = _state.pop("pcscd", None)
    if pcscd is not None:
        pcscd.stop()
    directory = _state.pop("dir", None)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pcsc() -> Iterator[PrivatePcscd]:
    if "pcscd" not in _state:
        directory = _state["dir"]
        directory.mkdir(mode=0o755)
        _state["pcscd"] = start_pcscd(directory)
    yield _state["pcscd"]


@pytest.fixture()
def card_slot(pcsc: PrivatePcscd, tmp_path: Path) -> Iterator[CardSlot]:
    slot = CardSlot(pcsc, tmp_path)
    try:
        yield slot
    finally:
        slot.remove()


@contextlib.contextmanager
def hold_shared_pcscd() -> Iterator[int]:
    """Someone holds the shared pcscd's lock while this runs: yields the holder's pid."""
    if SharedLock.held_here():
        yield os.getpid()
        return
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\n"
         "from hardware.card.rig import SharedLock\n"
         "lock = SharedLock.acquire(); print('held', flush=True); sys.stdin.read()"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "WARD_PCSCD_LOCK_WAIT": "120"})  # a parallel run's rig may hold it
    try:
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], 150)
        assert ready and holder.stdout.readline() == "held\n", "the lock's holder did not start"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait(10)
