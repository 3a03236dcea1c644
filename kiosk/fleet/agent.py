"""The kiosk's update agent: asks the back-office which release its ward's kiosks should
run, downloads the bundle to the data partition (resumed, sha256-checked), installs it only
while no visit is under way, reboots only when idle and inside the reboot window, and
reports its state with the heartbeat.

States (`state` in the heartbeat's `update`): up-to-date, downloading (progress %),
waiting-idle, installing (progress %), waiting-reboot, failed (reason), rolled-back (the
version that failed to boot; not tried again until a newer release is the target).
A failure never stops the kiosk: the agent runs in its own thread, and whatever it does
the resident's visit goes on.

No stampede: the first check after start, and the download after a new target, wait a
random time within `check_seconds`; a back-office serving its `max_downloads` answers 503
with Retry-After, which the agent waits (plus a random part of it) before resuming.

What it remembers (`<download dir>/agent-state.json`, written atomically): the versions
refused (signature, compatible) or rolled back — never downloaded again after a restart —
and the last target it heard. When the back-office cannot be reached, a bundle already
downloaded and checked is installed (when idle) only if it is that last heard target;
the reboot into it waits for the next answer from the back-office (which may have changed
the target meanwhile, and the new root needs the network to become ready).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

from kiosk.domain.section import Section
from kiosk.fleet.updater import InstallRefused, Updater

log = logging.getLogger(__name__)

RELEASE_PATH = "/api/v1/device/release"
CHUNK = 256 * 1024
STATE_FILE = "agent-state.json"


@dataclass(frozen=True)
class FleetSettings:
    """[fleet] of kiosk.toml."""
    updater: str = "none"          # "rauc" (the image), "standin", "none" (no updates)
    check_seconds: float = 300.0   # how often the agent asks for its target release
    reboot_window: str = ""        # "HH:MM-HH:MM" local time; "" = whenever idle
    download_dir: str = ""         # "" = <data dir>/updates
    data_dir: str = "/var/lib/ward-kiosk"
    standin_version: str = "1.0"   # the stand-in's first slot

    @classmethod
    def from_section(cls, s: Section, data_dir: Path) -> FleetSettings:
        s.unknown_keys(("updater", "check_seconds", "reboot_window", "download_dir",
                        "standin_version"))
        d = cls()
        window = s.text("reboot_window", d.reboot_window)  # "" (shipped): whenever idle
        if window and parse_window(window) is None:
            raise s.error("reboot_window", f"{window!r} is not HH:MM-HH:MM")
        return cls(updater=s.text("updater", d.updater), data_dir=str(data_dir),
                   check_seconds=s.number("check_seconds", d.check_seconds, min=1.0),
                   reboot_window=window, download_dir=s.text("download_dir", d.download_dir),
                   standin_version=s.text("standin_version", d.standin_version))

    @property
    def downloads(self) -> Path:
        return Path(self.download_dir) if self.download_dir else Path(self.data_dir) / "updates"


def parse_window(text: str) -> tuple[time, time] | None:
    try:
        start, end = text.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        return None


def in_window(window: str, now: datetime) -> bool:
    """Inside "HH:MM-HH:MM" (may span midnight); always when no window is set."""
    parsed = parse_window(window) if window else None
    if parsed is None:
        return True
    start, end = parsed
    t = now.time()
    return start <= t < end if start <= end else (t >= start or t < end)


class DownloadFailed(Exception):
    pass


class ServerBusy(Exception):
    """The back-office serves its max_downloads already: try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"server busy: again in {seconds:.0f} s")
        self.seconds = seconds


def retry_after(value: str | None, default: float = 30.0) -> float:
    """Retry-After in seconds (the back-office sends seconds; an HTTP date is not used)."""
    try:
        return min(max(float(value or default), 1.0), 3600.0)
    except ValueError:
        return default


def spread(seconds: float) -> float:
    """A random wait within `seconds` (so a ward's kiosks do not all ask at once)."""
    return random.uniform(0.0, seconds)  # spreading load, not a secret


class Memory:
    """What the agent keeps across restarts, in one small JSON file replaced atomically:
    refused versions (why), rolled-back versions, the last target heard."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.refused: dict[str, str] = {}
        self.rolled_back: set[str] = set()
        self.target: dict[str, Any] | None = None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.refused = {str(k): str(v) for k, v in dict(data.get("refused", {})).items()}
            self.rolled_back = {str(v) for v in data.get("rolled_back", [])}
            target = data.get("target")
            self.target = dict(target) if isinstance(target, dict) else None
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError):
            log.warning("update agent: %s unreadable, starting afresh", path)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump({"refused": self.refused, "rolled_back": sorted(self.rolled_back),
                       "target": self.target}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class UpdateAgent:
    """One `step()` per check: look, then do the next thing (download, install, reboot)."""

    def __init__(self, updater: Updater, client: Any, settings: FleetSettings, *,
                 idle: Callable[[], bool], report: Callable[[dict[str, Any]], None],
                 now: Callable[[], datetime] = datetime.now) -> None:
        self.updater = updater
        self.client = client          # kiosk.sync.client.BackofficeClient
        self.settings = settings
        self.idle = idle
        self.report = report
        self.now = now
        self.state: dict[str, Any] = {"state": "up-to-date"}
        self.memory = Memory(settings.downloads / STATE_FILE)
        self.refused = self.memory.refused   # version → why its bundle was refused
        self.wait: float | None = None       # the thread's next wait, when not the usual
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None

    # -- state ---------------------------------------------------------------------------
    def _set(self, state: str, **extra: Any) -> None:
        status = self._status
        booted = status.booted_slot if status is not None else None
        new = {"state": state, "version": booted.version if booted else None,
               "slot": status.booted if status else None,
               **{k: v for k, v in extra.items() if v is not None}}
        if new != self.state:
            self.state = new
            log.info("update: %s", {k: v for k, v in new.items()})
            self.report(dict(new))

    # -- one check -----------------------------------------------------------------------
    def step(self, defer_new: bool = False) -> dict[str, Any]:
        """One check. `defer_new` (the thread's): a target not heard before is only noted,
        and acted on at the next check, after a random wait (`self.wait`)."""
        self.wait = None
        self._status = None
        try:
            self._status = self.updater.status()
        except Exception as exc:
            log.exception("updater status failed")
            self._set("failed", reason=f"updater: {exc}"[:200])
            return self.state
        status = self._status
        running = status.running_version
        try:
            target = self.client.get(RELEASE_PATH, attempts=1)
        except Exception as exc:  # noqa: BLE001 — offline: keep the last state, say why
            return self._offline(f"network: {type(exc).__name__}")
        version = (target or {}).get("version")
        heard = self.memory.target
        if (heard or {}).get("version") != version or (heard is None) != (target is None):
            self.memory.target = dict(target) if target else None
            self.memory.save()
            if defer_new and version and version != running:
                self.wait = spread(self.settings.check_seconds)
                log.info("update: new target %s, looking again in %.0f s", version,
                         self.wait)
                return self.state
        primary = status.primary_slot
        if primary is not None and status.booted is not None and \
                primary.bootname != status.booted and primary.version != version:
            # installed, not booted yet, and no longer the target: a reboot for another
            # reason must not boot it
            log.info("update: %s is no longer the target, the booted slot boots next",
                     primary.version)
            self.updater.keep_booted()
            self._status = status = self.updater.status()
        bad = status.bad_versions() | self.memory.rolled_back
        if status.bad_versions() - self.memory.rolled_back:
            self.memory.rolled_back |= status.bad_versions()
            self.memory.save()
        if not version or version == running:
            self._cleanup(keep=None)
            # (a slot still marked bad; not the whole memory, which only keeps it away)
            rolled = sorted(status.bad_versions() - {running})
            self._set("up-to-date", **({"rolled_back": rolled[-1]} if rolled else {}))
            return self.state
        if version in bad:   # it was installed, did not reach "kiosk ready", rolled back
            self._cleanup(keep=None)
            self._set("rolled-back", target=version, rolled_back=version)
            return self.state
        if version in self.refused:
            self._set("failed", target=version, reason=self.refused[version])
            return self.state
        primary = status.primary_slot
        if primary is not None and primary.bootname != status.booted and \
                primary.version == version:
            return self._maybe_reboot(version)
        bundle = self._download(target)
        if bundle is None:
            return self.state
        if not self.idle():
            self._set("waiting-idle", target=version)
            return self.state
        if not self._install(bundle, version):
            return self.state
        return self._maybe_reboot(version)

    def _offline(self, reason: str) -> dict[str, Any]:
        """No answer from the back-office: install a bundle downloaded and checked already
        when it is the last target heard (the reboot waits for the back-office)."""
        heard = self.memory.target or {}
        version = heard.get("version")
        status = self._status
        bundle = self._bundle_path(str(version)) if version else None
        if not version or version == status.running_version or \
                version in status.bad_versions() | self.memory.rolled_back or \
                version in self.refused or bundle is None or not bundle.exists():
            if self.state.get("state") in ("downloading", "up-to-date"):
                self._set("failed", reason=reason, target=self.state.get("target"))
            return self.state
        primary = status.primary_slot
        if primary is not None and primary.bootname != status.booted and \
                primary.version == version:
            self._set("waiting-reboot", target=version, reason=reason)
            return self.state
        if not self.idle():
            self._set("waiting-idle", target=version, reason=reason)
            return self.state
        if self._install(bundle, str(version)):
            self._set("waiting-reboot", target=version, reason=reason)
        return self.state

    def _install(self, bundle: Path, version: str) -> bool:
        """Install the checked bundle; False (and the state says why) when refused."""
        self._set("installing", target=version, progress=0)
        try:
            self.updater.install(bundle, lambda pct, _text: self._set(
                "installing", target=version, progress=pct))
        except InstallRefused as exc:
            reason = f"{exc.kind}: {exc.message}"[:200]
            if exc.kind in ("signature", "compatible"):
                self.refused[version] = reason   # the same bundle would be refused again
                self.memory.save()
                bundle.unlink(missing_ok=True)
            self._set("failed", target=version, reason=reason)
            return False
        bundle.unlink(missing_ok=True)
        self._status = self.updater.status()
        return True

    def _maybe_reboot(self, version: str) -> dict[str, Any]:
        if not (self.idle() and in_window(self.settings.reboot_window, self.now())):
            self._set("waiting-reboot", target=version)
            return self.state
        self._set("rebooting", target=version)
        self.updater.request_reboot()
        return self.state

    # -- download ------------------------------------------------------------------------
    def _cleanup(self, keep: str | None) -> None:
        folder = self.settings.downloads
        if folder.is_dir():
            for f in folder.iterdir():
                if f.name.startswith(STATE_FILE):
                    continue
                if keep is None or not f.name.startswith(keep + "."):
                    f.unlink(missing_ok=True)

    def _bundle_path(self, version: str) -> Path:
        """Where a version's bundle is once downloaded and checked (`.part` before)."""
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in version)
        return self.settings.downloads / f"{name}.bundle"

    def _download(self, target: dict[str, Any]) -> Path | None:
        """The bundle on the data partition, checked; None (and the state says why) when
        it is not complete yet or failed."""
        version, size, sha = str(target["version"]), int(target["size"]), str(target["sha256"])
        folder = self.settings.downloads
        folder.mkdir(parents=True, exist_ok=True)
        done = self._bundle_path(version)
        name = done.stem
        part = done.with_suffix(".part")
        self._cleanup(keep=name)
        if done.exists():
            return done
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        self._set("downloading", target=version, progress=int(100 * have / max(size, 1)))
        try:
            if have < size:   # complete already: only the check was left (a restart)
                self._fetch(str(target["url"]), part, have, size, version)
        except ServerBusy as exc:
            self.wait = exc.seconds + spread(exc.seconds)
            self._set("downloading", target=version, reason=str(exc),
                      progress=int(100 * have / max(size, 1)))
            return None
        except DownloadFailed as exc:
            self._set("failed", target=version, reason=str(exc)[:200],
                      progress=int(100 * (part.stat().st_size if part.exists() else 0)
                                   / max(size, 1)))
            return None
        if part.stat().st_size != size or sha256_of(part) != sha:
            part.unlink()
            self._set("failed", target=version, reason="download: sha256 mismatch")
            return None
        part.rename(done)
        return done

    def _fetch(self, url: str, part: Path, have: int, size: int, version: str) -> None:
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            resp = self.client.stream(url, headers)
        except Exception as exc:  # noqa: BLE001 — Unreachable: a network problem
            raise DownloadFailed(f"network: {exc}") from None
        with resp:
            if resp.status_code == 503:
                raise ServerBusy(retry_after(resp.headers.get("Retry-After")))
            if resp.status_code == 200:
                have = 0                       # the server ignored the range: start over
            elif resp.status_code != 206:
                raise DownloadFailed(f"download: HTTP {resp.status_code}")
            step = max(size // 20, CHUNK)
            shown = have
            try:
                with part.open("r+b" if have else "wb") as f:
                    f.seek(have)
                    f.truncate()
                    for block in resp.iter_content(CHUNK):
                        f.write(block)
                        have += len(block)
                        if have - shown >= step:
                            shown = have
                            self._set("downloading", target=version,
                                      progress=int(100 * have / max(size, 1)))
                        if self._stop.is_set():
                            raise DownloadFailed("stopped")
            except OSError as exc:
                raise DownloadFailed(f"network: {type(exc).__name__}") from None
            except Exception as exc:  # noqa: BLE001 — requests' connection errors mid-body
                raise DownloadFailed(f"network: {type(exc).__name__}") from None

    # -- thread --------------------------------------------------------------------------
    def _run(self) -> None:
        self._stop.wait(spread(self.settings.check_seconds))   # not all kiosks at once
        while not self._stop.is_set():
            try:
                self.step(defer_new=True)
            except Exception:  # the agent must never stop the kiosk
                log.exception("update check failed")
            waiting = self.state.get("state") in ("waiting-idle", "waiting-reboot")
            pause = (self.wait if self.wait is not None
                     else min(self.settings.check_seconds, 5.0) if waiting
                     else self.settings.check_seconds)
            self._kick.wait(pause)
            self._kick.clear()

    def kick(self) -> None:
        """Check now (e.g. a visit just ended and an install or reboot is waiting)."""
        self._kick.set()

    def start(self) -> UpdateAgent:
        self._thread = threading.Thread(target=self._run, name="kiosk-update", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    _status: Any = None


def start_update_agent(link: Any, data: dict[str, Any], file: str,
                       idle: Callable[[], bool] = lambda: True) -> UpdateAgent | None:
    """The agent for a kiosk with a sync link, when its `[fleet] updater` is not "none"
    (the kiosk app: kiosk.ui.adapters.make_devices; it sets `idle` to "no visit under
    way"). Downloads go beside the kiosk's store (the data partition)."""
    settings = FleetSettings.from_section(Section(data, file).section("fleet", {}),
                                          Path(link.settings.store.path).parent)
    updater = open_updater(settings, file)
    if updater is None:
        return None
    return UpdateAgent(updater, link.client, settings, idle=idle,
                       report=link.report_update).start()


def open_updater(settings: FleetSettings, file: str = "kiosk.toml") -> Updater | None:
    """The updater `[fleet] updater` names (kiosk.devices); None for "none"."""
    if settings.updater == "none":
        return None
    from kiosk.devices import registry
    updater: Updater = registry().factory("updater", settings.updater, file=file,
                                          key="fleet.updater")(settings)
    return updater
