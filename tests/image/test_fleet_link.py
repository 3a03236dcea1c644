"""The --fleet-app test's network switch (hardware/image/fleetapp.py `set_link`), without
qemu: boot-test.sh powers the VM on again after each guest reboot (OVMF hung on warm resets
under TCG), so a cut link must outlive the qemu it was set on — a `link-down` flag next to the
QMP socket that the power-cycle loop applies to each new qemu — and a qemu being replaced is
waited for, not an error."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

IMAGE = Path(__file__).resolve().parents[2] / "hardware" / "image"


@pytest.fixture
def fleetapp(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(IMAGE))  # fleetapp imports screentest from its folder
    import fleetapp as module

    yield module
    sys.modules.pop("fleetapp", None)


def fake_qemu(path: Path, calls: list[dict[str, object]]) -> threading.Thread:
    """One QMP connection, like qemu's: greeting, capabilities, one command answered."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn, conn.makefile("rw") as f:
            f.write(json.dumps({"QMP": {"version": {}, "capabilities": []}}) + "\n")
            f.flush()
            for _ in range(2):
                calls.append(json.loads(f.readline()))
                f.write(json.dumps({"return": {}}) + "\n")
                f.flush()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_cut_link_is_flagged_for_the_next_qemu_and_set_on_this_one(
        fleetapp: ModuleType, tmp_path: Path) -> None:
    sock = tmp_path / "qmp.sock"
    calls: list[dict[str, object]] = []
    fake_qemu(sock, calls).join(0)
    fleetapp.set_link(str(sock), up=False)
    assert (tmp_path / "link-down").exists()
    assert calls[-1] == {"execute": "set_link", "arguments": {"name": "n0", "up": False}}
    sock.unlink()
    fake_qemu(sock, calls)
    fleetapp.set_link(str(sock), up=True)
    assert not (tmp_path / "link-down").exists()
    assert calls[-1]["arguments"] == {"name": "n0", "up": True}


def test_no_qemu_answering_is_waited_for_then_an_error(
        fleetapp: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleetapp.time, "sleep", lambda s: None)
    with pytest.raises(SystemExit, match="no qemu answered"):
        fleetapp.set_link(str(tmp_path / "qmp.sock"), up=False, tries=3)
    assert (tmp_path / "link-down").exists()  # the next qemu the loop starts still gets it
