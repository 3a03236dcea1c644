"""A private PC/SC rig: pcscd with one vpcd reader on a free port, and stand-in cards.

Used by the test fixtures (tests/support/pcsc.py), the benchmark and ``python -m
hardware.card rig`` (a demo or a developer's manual check without touching the system
pcscd).

Why a private mount namespace: pcsc-lite 1.9.9's pcscd ignores PCSCLITE_CSOCK_NAME and
always binds /run/pcscd/pcscd.comm (its clients do honour it). So pcscd runs under
``unshare -m`` with a private directory bind-mounted on /run/pcscd; outside, the socket
appears in that directory. Without the privilege for that, we fall back to pcscd on the
default socket under a file lock (rigs then take turns).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]  # the repository: `python -m hardware.card` runs here
PROFILES = REPO / "hardware" / "card" / "profiles"
READER_NAME = "Ward Test PCD"
DEFAULT_SOCKET = Path("/run/pcscd/pcscd.comm")
PCSCD_POLL_SECONDS = 0.4  # pcsc-lite's PCSCLITE_STATUS_POLL_RATE for polled drivers
LOCK_FILE = Path(tempfile.gettempdir()) / "ward-kiosk-pcscd.lock"



def _free_port_pair() -> int:
    """A free port p with p+1 also free (vpcd listens on both: slots 00 and 01)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of TCP ports")


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


class SharedPcscdInUse(RuntimeError):
    """A second pcscd was asked for where only the shared default socket is available."""


_shared_in_use = False


class PrivatePcscd:
    """pcscd -f with one vpcd reader on a free port, its socket in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port_pair()
        self.reader = f"{READER_NAME} 00 00"
        self.socket = directory / "pcscd.comm"
        self.log_path = directory / "pcscd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: Any = None
        self.private = True
        self.last_pull = 0.0  # monotonic time a card last left the reader

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.socket)}

    def start(self) -> None:
        conf = self.directory / "reader.conf"
        conf.write_text(
            f'FRIENDLYNAME "{READER_NAME}"\n'
            f"DEVICENAME   /dev/null:0x{self.port:04X}\n"
            "LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
            f"CHANNELID    0x{self.port:04X}\n")
        pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
        forced_shared = os.environ.get("WARD_PCSCD_SHARED") == "1"  # to exercise the fallback
        if not forced_shared and shutil.which("unshare") and self._try_private(pcscd, conf):
            return
        self._start_shared(pcscd, conf)

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        try:
            return subprocess.Popen(  # noqa: S603 (our own argv)
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()

    def _try_private(self, pcscd: str, conf: Path) -> bool:
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
        script = f'mount --bind "{self.directory}" /run/pcscd && exec "{pcscd}" -f -c "{conf}"'
        self.process = self._spawn(["unshare", "-m", "--propagation", "private",
                                    "sh", "-c", script])
        try:
            _wait_for(lambda: self.socket.exists() or self.process.poll() is not None,
                      10, "pcscd socket")
        except TimeoutError:
            self.stop()
            return False
        if self.process.poll() is not None:
            self.process = None
            return False
        return True

    def _start_shared(self, pcscd: str, conf: Path) -> None:
        """Fallback: pcscd on the default socket; a lock makes test sessions take turns.
        A second one in the same process would wait for its own lock for ever: refused."""
        global _shared_in_use
        if _shared_in_use:
            raise SharedPcscdInUse("this process already runs the shared pcscd (no "
                                   "'unshare -m' here for a private one)")
        self._lock = LOCK_FILE.open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        _shared_in_use = True
        if DEFAULT_SOCKET.exists():
            with contextlib.suppress(OSError):
                probe = socket.socket(socket.AF_UNIX)
                probe.connect(str(DEFAULT_SOCKET))
                probe.close()
                raise RuntimeError("a system pcscd holds the default socket; stop it first")
        self.private = False
        self.socket = DEFAULT_SOCKET
        self.process = self._spawn([pcscd, "-f", "-c", str(conf)])
        _wait_for(DEFAULT_SOCKET.exists, 10, "pcscd socket")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
            global _shared_in_use
            _shared_in_use = False


def write_profile(directory: Path, profile: str | Path = "yamada", **overrides: Any) -> Path:
    """A profile file: a named profile (or a path) with [holder]/[card] keys overridden."""
    source = Path(profile) if Path(profile).suffix else PROFILES / f"{profile}.toml"
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    holder_keys = {"name", "address", "birth_date", "sex"}
    for key, value in overrides.items():
        data["holder" if key in holder_keys else "card"][key] = value
    lines = []
    for table in ("holder", "card"):
        lines.append(f"[{table}]")
        for key, value in data.get(table, {}).items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    fd, path = tempfile.mkstemp(suffix=".toml", dir=directory)
    os.close(fd)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def _card_present(reader: str) -> bool:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return False
    try:
        hresult, states = scard.SCardGetStatusChange(
            context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return hresult == scard.SCARD_S_SUCCESS and bool(
            states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


class InsertedCard:
    """One stand-in card process on the reader."""

    def __init__(self, pcscd: PrivatePcscd, profile_path: Path, log_path: Path, *,
                 tuned_tcp: bool = True) -> None:
        self.pcscd = pcscd
        self.tuned_tcp = tuned_tcp
        self.profile_path = profile_path
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        # pcscd's status thread polls the reader every 400 ms. A card that vanished
        # mid-command is marked removed only by SCardDisconnect; if a new card connects
        # before the poller has once seen the reader empty, pcscd thinks nothing changed
        # and never reports the insertion. So let it poll an empty reader first.
        settle = PCSCD_POLL_SECONDS * 2.5 - (time.monotonic() - self.pcscd.last_pull)
        if settle > 0:
            time.sleep(settle)
        with self.log_path.with_suffix(".err").open("wb") as err:
            self.process = subprocess.Popen(  # noqa: S603 (our own argv)
                [sys.executable, "-m", "hardware.card", "--port", str(self.pcscd.port),
                 "--profile", str(self.profile_path), "--log", str(self.log_path)],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, "WARD_CARD_UNTUNED_TCP": "0" if self.tuned_tcp else "1"})
        if wait:
            _wait_for(lambda: _card_present(self.pcscd.reader)
                      or self.process.poll() is not None, 15,
                      "the stand-in card to be seen by pcscd")
            if self.process.poll() is not None:
                raise RuntimeError("stand-in card exited: "
                                   + self.log_path.with_suffix(".err").read_text())

    def pull(self, wait: bool = True) -> None:
        """Take the card off the reader (kill the emulator)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(5)
            self.process = None
            self.pcscd.last_pull = time.monotonic()
        if wait:
            _wait_for(lambda: not _card_present(self.pcscd.reader), 10, "card removal")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def apdu_log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""


class CardSlot:
    """Insert / remove stand-in cards on the private reader."""

    def __init__(self, pcscd: PrivatePcscd, directory: Path) -> None:
        self.pcscd = pcscd
        self.directory = directory
        self.reader = pcscd.reader
        self.card: InsertedCard | None = None
        self._count = 0

    def insert(self, profile: str | Path = "yamada", *, wait: bool = True,
               tuned_tcp: bool = True, **overrides: Any) -> InsertedCard:
        """`tuned_tcp=False` drops TCP_NODELAY/QUICKACK (the benchmark's comparison)."""
        self.remove()
        self._count += 1
        path = write_profile(self.directory, profile, **overrides)
        self.card = InsertedCard(self.pcscd, path, self.directory / f"apdu-{self._count}.log",
                                 tuned_tcp=tuned_tcp)
        self.card.start(wait)
        return self.card

    def remove(self) -> None:
        if self.card is not None:
            self.card.pull(wait=self.card.alive)
            self.card = None


def start_pcscd(directory: Path) -> PrivatePcscd:
    """Start a private pcscd and point this process's PC/SC calls at it."""
    pcscd = PrivatePcscd(directory)
    pcscd.start()
    os.environ["PCSCLITE_CSOCK_NAME"] = str(pcscd.socket)
    return pcscd
