"""A private PC/SC rig: pcscd with one vpcd reader on a free port, and stand-in cards.

Used by the test fixtures (tests/support/pcsc.py), the benchmark, the demo and ``python -m
hardware.card rig`` (a developer's manual check without touching the system pcscd).

Why socket activation: pcsc-lite 1.9.9's pcscd ignores PCSCLITE_CSOCK_NAME (only its
clients read it) and binds /run/pcscd/pcscd.comm, but it takes an already listening socket
the systemd way (LISTEN_FDS=1, LISTEN_PID, fd 3). So the rig makes the socket in its own
directory and hands it over: any number of rigs run side by side, with no privilege and no
mount namespace (a plain chroot or an unprivileged container will do). Where pcscd cannot
take a socket (built without libsystemd), or with WARD_PCSCD_SHARED=1, the rig falls back
to pcscd on the default socket, one rig at a time under LOCK_FILE: a busy lock is refused
within LOCK_WAIT_SECONDS with a message naming its holder.
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
LOCK_WAIT_SECONDS = 5.0  # how long a shared rig waits for another to finish before refusing
START_SECONDS = 10.0     # pcscd says "daemon ready" within well under a second


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


class PcscdBusy(RuntimeError):
    """The shared pcscd (default socket) is in use by another rig or a system pcscd."""


class SharedPcscdInUse(PcscdBusy):
    """A second shared pcscd was asked for in the process that already runs one."""


class SharedLock:
    """The shared socket's lock (LOCK_FILE), held by one rig at a time; its file names the
    holder. Waits at most LOCK_WAIT_SECONDS (or $WARD_PCSCD_LOCK_WAIT) for another rig to
    finish, then raises PcscdBusy with that name."""

    _held_here = False  # by a rig of this process: waiting for it would never end

    def __init__(self, file: Any) -> None:
        self.file = file

    @classmethod
    def acquire(cls) -> SharedLock:
        if cls._held_here:
            raise SharedPcscdInUse("this process already runs the shared pcscd (this pcscd "
                                   "cannot take a private socket, or WARD_PCSCD_SHARED=1)")
        wait = float(os.environ.get("WARD_PCSCD_LOCK_WAIT", LOCK_WAIT_SECONDS))
        file = LOCK_FILE.open("a+")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    file.seek(0)
                    holder = _holder(file.read())
                    file.close()
                    raise PcscdBusy(
                        f"the shared pcscd ({DEFAULT_SOCKET}) is in use by {holder}; wait "
                        f"for it to end or stop it (the lock is {LOCK_FILE}), or run where "
                        "pcscd can take a private socket (without WARD_PCSCD_SHARED=1)"
                    ) from None
                time.sleep(0.1)
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()} ({' '.join(sys.argv)[:200]}) since "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
        file.flush()
        cls._held_here = True
        return cls(file)

    @classmethod
    def held_here(cls) -> bool:
        return cls._held_here

    def release(self) -> None:
        if not self.file.closed:
            self.file.truncate(0)
            self.file.close()
            SharedLock._held_here = False


def takes_socket(pcscd: str) -> bool:
    """Whether this pcscd takes a listening socket from its parent (sd_listen_fds)."""
    try:
        return b"sd_listen_fds" in Path(pcscd).read_bytes()
    except OSError:
        return False


def system_pcscd() -> bool:
    """Whether a pcscd (a system one, or another rig's) answers on the default socket."""
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(DEFAULT_SOCKET))
        except OSError:
            return False
    return True


def _holder(text: str) -> str:
    """The lock file's note on its holder, or a plain phrase when there is none."""
    return text.strip() or "an unknown process (no note in the lock file)"


class PrivatePcscd:
    """pcscd -f with one vpcd reader on a free port, its socket in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port_pair()
        self.reader = f"{READER_NAME} 00 00"
        self.socket = directory / "pcscd.comm"
        self.log_path = directory / "pcscd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: SharedLock | None = None
        self._listener: socket.socket | None = None
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
        if not forced_shared and takes_socket(pcscd):
            self._start_private(pcscd, conf)
        else:
            self._start_shared(pcscd, conf)

    def _spawn(self, argv: list[str], stdin: Any = subprocess.DEVNULL
               ) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        try:
            return subprocess.Popen(  # noqa: S603 (our own argv)
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=stdin)
        finally:
            log.close()

    def _wait_ready(self) -> None:
        """Until pcscd logs "daemon ready" (readers set up, serving); raise if it exits."""
        process = self.process
        assert process is not None

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"pcscd exited with {process.returncode}: "
                                   + self.log_path.read_text(errors="replace")[-500:])
            return b"daemon ready" in self.log_path.read_bytes()
        try:
            _wait_for(ready, START_SECONDS, "pcscd to start")
        except BaseException:
            self.stop()
            raise

    def _start_private(self, pcscd: str, conf: Path) -> None:
        """pcscd on its own socket, handed over as systemd would (fd 3, LISTEN_*)."""
        listener = self._listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(self.socket))
        self.socket.chmod(0o666)  # as pcscd makes its own: any local user may be a client
        listener.listen(64)
        # The socket comes in as stdin and goes to fd 3; `$$` is pcscd's own pid after
        # `exec`, which sd_listen_fds checks LISTEN_PID against.
        script = 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -f -i -c "$1" 3<&0 0</dev/null'
        self.process = self._spawn(["sh", "-c", script, pcscd, str(conf)], stdin=listener)
        self._wait_ready()

    def _start_shared(self, pcscd: str, conf: Path) -> None:
        """Fallback: pcscd on the default socket, one rig at a time (see SharedLock)."""
        self._lock = SharedLock.acquire()
        if system_pcscd():
            self._lock.release()
            raise PcscdBusy(f"a system pcscd holds {DEFAULT_SOCKET}; stop it first "
                            "(systemctl stop pcscd.socket pcscd)")
        self.private = False
        self.socket = DEFAULT_SOCKET
        self.process = self._spawn([pcscd, "-f", "-i", "-c", str(conf)])
        self._wait_ready()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(OSError):
                self.socket.unlink()
        if self._lock is not None:
            self._lock.release()
            self._lock = None


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
