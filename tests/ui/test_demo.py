"""The demo's kiosk with the real card stack: `python -m devtools --demo --headless
--walkthrough DIR` (what the demo does where there is no display, and what
scripts/kiosk_screens runs in every mode) starts a back-office, the payment provider and
terminal stand-ins, a pcscd + vpcd with the stand-in My Number card, and the ESC/POS
stand-in printer over TCP; the scripted visits must leave a screenshot of every screen (the
payment screens and the status-page QR on every ticket screen included), the printed
tickets as PNGs, and a payment the back-office records as paid. It runs beside this
session's own pcscd, and again on the shared-socket fallback (WARD_PCSCD_SHARED=1).

`scripts/demo` stopped by SIGTERM or SIGHUP leaves no process behind, and where the shared
card reader is busy it says who holds it and exits non-zero."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from devtools.kiosk_demo import pcsc_rig_available
from hardware.card.rig import DEFAULT_SOCKET, SharedLock, system_pcscd
from tests.support.pcsc import hold_shared_pcscd

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.kivy, pytest.mark.pcsc, pytest.mark.slow,
              pytest.mark.skipif(pcsc_rig_available() is not None,
                                 reason=f"no pcscd/vpcd here: {pcsc_rig_available()}")]


def demo_env(tmp_path: Path, shared: bool = False) -> dict[str, str]:
    env = dict(os.environ, KIVY_HOME=str(tmp_path / "kivy"), SDL_VIDEODRIVER="offscreen",
               KIVY_NO_ARGS="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("DISPLAY", None)
    env.pop("PCSCLITE_CSOCK_NAME", None)  # the demo starts its own pcscd
    env.pop("WARD_PCSCD_SHARED", None)
    if shared:
        # a parallel test run's rig may hold the shared socket: take turns, bounded
        env.update(WARD_PCSCD_SHARED="1", WARD_PCSCD_LOCK_WAIT="120")
    return env


@pytest.mark.parametrize("pcscd", ["own socket", "shared socket"])
def test_headless_demo_reads_the_card_through_pcscd_and_prints(tmp_path: Path,
                                                              pcscd: str) -> None:
    shared = pcscd == "shared socket"
    if shared and SharedLock.held_here():
        pytest.skip("WARD_PCSCD_SHARED=1: this session holds the shared socket (the demo "
                    "refusing it is test_scripts_demo_says_who_holds_the_shared_reader)")
    if shared and system_pcscd():
        pytest.skip(f"a system pcscd holds {DEFAULT_SOCKET}; the fallback needs it free")
    shots, var = tmp_path / "shots", tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "devtools", "--demo", "--headless", "--walkthrough", str(shots),
         "--demo-dir", str(var)], cwd=REPO, env=demo_env(tmp_path, shared),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "card = the stand-in My Number card through pcscd + vpcd" in done.stdout
    printed = var / "kiosk" / "printer"
    assert f"printed tickets (PNG) land in {printed}" in done.stdout
    names = sorted(p.stem for p in shots.glob("*.png"))
    # the life-event visit (20-24) ends with its routed ticket (25) where the back-office
    # takes routed tickets (issue #17), else at its review
    routed = "25-life-ticket" in names
    assert len(names) == 24 + routed and names[16:19] == [
        "17-cashless-choose", "18-cashless-code", "19-ticket-paid"], names
    assert names[19:24] == ["20-life-event", "21-life-question", "22-life-plan",
                            "23-life-entry", "24-life-review"], names
    # every ticket screen (card visit, ask staff, paid, routed) shows the status page's QR
    n = 3 + routed
    assert f"the status-page QR on {n} of {n} ticket screens; 1 paid by code" in done.stdout
    tickets = sorted(printed.glob("job-*.png"))
    # the card visit's, the "ask staff" and the paid visit's (+ the routed ticket and guide)
    assert len(tickets) == 3 + 2 * routed
    with sqlite3.connect(var / "backoffice.sqlite3") as db:
        paid = db.execute("SELECT method, amount_yen FROM payments WHERE state = 'paid'"
                          ).fetchall()
    assert paid == [("code", 300)]
    job = json.loads(tickets[0].with_suffix(".json").read_text())
    assert job["complete"] and job["cut"] and job["images"] >= 1
    paper = Image.open(tickets[0]).convert("L")
    assert paper.width == 576 and paper.height > 600
    # the card visits read the card through PC/SC (the rig counts the card's commands)
    answered = [line for line in done.stdout.splitlines() if "APDUs through pcscd" in line]
    assert answered and int(answered[0].split("answered ")[1].split()[0]) > 10, done.stdout


# -- scripts/demo as a process ------------------------------------------------------------

def process_tree(pid: int) -> dict[int, tuple[str, str]]:
    """pid -> (start time, command line) of every live process below `pid` (/proc)."""
    parent, info = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            child = int(stat.parent.name)
            parent[child], info[child] = int(fields[1]), (fields[19], cmdline)
    below, todo = {}, [pid]
    while todo:
        top = todo.pop()
        for child, up in parent.items():
            if up == top:
                below[child] = info[child]
                todo.append(child)
    return below


def alive(pid: int, started: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


@pytest.fixture()
def scripts_demo(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`scripts/demo` headless, in a session of its own (so a failing test can still clear
    it away: the test itself looks only at the process tree)."""
    demo = subprocess.Popen(
        [str(REPO / "scripts" / "demo"), "--var-dir", str(tmp_path / "demo")], cwd=REPO,
        env=demo_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        yield demo
    finally:  # its own process group, orphans included
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)
        demo.wait(10)


def read_until(proc: subprocess.Popen[bytes], words: str, timeout: float) -> str:
    """The output up to `words` (raw reads: select knows nothing of a file's buffer)."""
    out, deadline = b"", time.monotonic() + timeout
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while words.encode() not in out:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        chunk = os.read(fd, 65536) if ready else b""
        assert chunk, f"no {words!r} within {timeout} s; got:\n{out.decode()}"
        out += chunk
    return out.decode()


def wait_for_tree(pid: int, wanted: list[str], timeout: float) -> dict[int, tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        tree = process_tree(pid)
        missing = [w for w in wanted if not any(w in cmd for _, cmd in tree.values())]
        if not missing:
            return tree
        assert time.monotonic() < deadline, f"never started: {missing}; tree: {tree}"
        time.sleep(0.2)


EVERYTHING = ["kiosk.backoffice serve", "hardware.payment.provider",
              "hardware.payment.terminal", "devtools.kiosk_demo", "pcscd", "hardware.card"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_to_scripts_demo_stops_every_process_it_started(
        scripts_demo: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    banner = read_until(scripts_demo, "Stop: ", 120)
    assert "its PIN is 1234" in banner
    for page in ("/console", "/display", "/status/<token>"):
        assert page in banner
    assert f"kill {scripts_demo.pid}" in banner
    tree = wait_for_tree(scripts_demo.pid, EVERYTHING, 120)
    scripts_demo.send_signal(sig)
    assert scripts_demo.wait(60) == 0
    left = {pid: cmd for pid, (started, cmd) in tree.items() if alive(pid, started)}
    assert left == {}


def test_scripts_demo_says_who_holds_the_shared_reader(tmp_path: Path) -> None:
    env = {**demo_env(tmp_path, shared=True), "WARD_PCSCD_LOCK_WAIT": "2"}
    with hold_shared_pcscd() as holder:
        began = time.monotonic()
        done = subprocess.run(
            [str(REPO / "scripts" / "demo"), "--var-dir", str(tmp_path / "demo")], cwd=REPO,
            env=env, capture_output=True, text=True, timeout=240)
        took = time.monotonic() - began
    assert done.returncode != 0
    assert "the card reader is busy" in done.stderr, done.stderr
    assert f"in use by pid {holder} (" in done.stderr  # this session, or a helper process
    assert took < 120, took  # the lock is given up after 2 s; the rest is starting up


def test_scripts_demo_stops_what_a_killed_child_left_behind(
        scripts_demo: subprocess.Popen[bytes]) -> None:
    """The kiosk killed outright cannot stop its pcscd and card: the demo (their subreaper)
    notices the kiosk is gone, says so, and stops them with everything else."""
    read_until(scripts_demo, "Stop: ", 120)
    tree = wait_for_tree(scripts_demo.pid, EVERYTHING, 120)
    kiosk = next(pid for pid, (_, cmd) in tree.items() if "devtools.kiosk_demo" in cmd)
    os.kill(kiosk, signal.SIGKILL)
    said = read_until(scripts_demo, "exited with -9", 30)
    assert "devtools.kiosk_demo exited with -9" in said
    assert scripts_demo.wait(60) == 1
    left = {pid: cmd for pid, (started, cmd) in tree.items() if alive(pid, started)}
    assert left == {}
