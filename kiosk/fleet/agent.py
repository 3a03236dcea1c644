"""The kiosk's update agent: asks the back-office which release its ward's kiosks should
run, downloads the bundle to the data partition (resumed, sha256-checked), installs it only
while no visit is under way, reboots only when idle and inside the reboot window, and
reports its state with the heartbeat.

States (`state` in the heartbeat's `update`): up-to-date, downloading (progress %),
waiting-idle, installing (progress %), waiting-reboot, failed (reason), rolled-back (the
version that failed to boot; not tried again until a newer release is the target).
A failure never stops the kiosk: the agent runs in its own thread, and whatever it does
the resident's visit goes on.
"""

from __future__ import annotations

import hashlib
import logging
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
        # "" (the shipped kiosk.toml's value) = whenever idle, like the key left out
        window = (s.text("reboot_window", d.reboot_window)
                  if s.data.get("reboot_window") != "" else "")
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
        self.refused: dict[str, str] = {}   # version → why its bundle was refused
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
    def step(self) -> dict[str, Any]:
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
            if self.state.get("state") in ("downloading", "up-to-date"):
                self._set("failed", reason=f"network: {type(exc).__name__}",
                          target=self.state.get("target"))
            return self.state
        version = (target or {}).get("version")
        bad = status.bad_versions()
        if not version or version == running:
            self._cleanup(keep=None)
            rolled = sorted(bad - {running}) if bad else []
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
        self._set("installing", target=version, progress=0)
        try:
            self.updater.install(bundle, lambda pct, _text: self._set(
                "installing", target=version, progress=pct))
        except InstallRefused as exc:
            reason = f"{exc.kind}: {exc.message}"[:200]
            if exc.kind in ("signature", "compatible"):
                self.refused[version] = reason   # the same bundle would be refused again
                bundle.unlink(missing_ok=True)
            self._set("failed", target=version, reason=reason)
            return self.state
        bundle.unlink(missing_ok=True)
        self._status = self.updater.status()
        return self._maybe_reboot(version)

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
                if keep is None or not f.name.startswith(keep + "."):
                    f.unlink(missing_ok=True)

    def _download(self, target: dict[str, Any]) -> Path | None:
        """The bundle on the data partition, checked; None (and the state says why) when
        it is not complete yet or failed."""
        version, size, sha = str(target["version"]), int(target["size"]), str(target["sha256"])
        folder = self.settings.downloads
        folder.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in version)
        done, part = folder / f"{name}.bundle", folder / f"{name}.part"
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
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the agent must never stop the kiosk
                log.exception("update check failed")
            waiting = self.state.get("state") in ("waiting-idle", "waiting-reboot")
            self._kick.wait(min(self.settings.check_seconds, 5.0) if waiting
                            else self.settings.check_seconds)
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
