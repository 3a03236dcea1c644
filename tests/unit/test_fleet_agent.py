"""The kiosk's update agent (kiosk/fleet/agent.py) with the stand-in updater (two slots)
against a real back-office: a published release is downloaded (sha256-checked, resumed),
installed only while idle, the reboot only when idle and inside the window; a release that
does not boot rolls back and is not tried again; a wrong checksum, a refused signature and
a dead network end in a clear state with the kiosk still on its running version."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hardware.updater import StandinUpdater
from kiosk.fleet.agent import FleetSettings, UpdateAgent, in_window
from tests.support.fleet import fleet_config, kiosk_client, publish, register, target


class World:
    """A kiosk: the stand-in updater, its own back-office client, an agent; `updater`: the
    same slots as an earlier World (a restarted kiosk)."""

    def __init__(self, server: Any, tmp: Path, updater: StandinUpdater | None = None,
                 check_seconds: float = 300.0) -> None:
        self.server, self.bundles, self.tmp = server, tmp / "bundles", tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.updater = updater or StandinUpdater(tmp / "slots.json", version="1.0")
        self.client = kiosk_client(server, tmp)
        self.reports: list[dict[str, Any]] = []
        self.busy = False
        self.clock = datetime(2026, 12, 5, 3, 0)
        self.agent = UpdateAgent(self.updater, self.client, FleetSettings(
            updater="standin", data_dir=str(tmp / "data"), reboot_window="02:00-05:00",
            check_seconds=check_seconds),
            idle=lambda: not self.busy, report=self.reports.append, now=lambda: self.clock)

    def states(self) -> list[str]:
        return [r["state"] for r in self.reports]

    def watch_downloads(self) -> list[dict[str, str]]:
        """The headers of every bundle request the agent makes from now on."""
        asked: list[dict[str, str]] = []
        stream = self.client.stream
        self.client.stream = lambda url, headers: asked.append(headers) or stream(url, headers)
        return asked


@pytest.fixture
def world(backoffice_factory: Any, tmp_path: Path) -> World:
    return World(backoffice_factory.start(config=fleet_config(tmp_path / "bundles")), tmp_path)


def test_update_waits_for_idle_and_the_window_then_rolls_back_a_broken_one(
        world: World) -> None:
    agent, up = world.agent, world.updater
    assert agent.step()["state"] == "up-to-date" and agent.state["version"] == "1.0"
    publish(world.server, world.bundles, "2.0", padding=2_000_000)
    world.busy = True                                  # a visit began during the download
    assert agent.step()["state"] == "waiting-idle"
    assert "downloading" in world.states()
    assert up.status().running_version == "1.0"
    world.busy = False
    world.clock = datetime(2026, 12, 5, 12, 0)         # idle, but outside the reboot window
    assert agent.step()["state"] == "waiting-reboot"
    assert "installing" in world.states() and up.reboots == 0
    world.clock = datetime(2026, 12, 5, 3, 0)
    agent.step()
    assert up.reboots == 1 and up.status().running_version == "2.0"
    assert agent.step() == {"state": "up-to-date", "version": "2.0", "slot": "B"}

    publish(world.server, world.bundles, "3.0", boots=False)   # never reaches "kiosk ready"
    agent.step()
    assert up.reboots == 2 and up.status().running_version == "2.0"   # rolled back
    state = agent.step()
    assert state["state"] == "rolled-back" and state["rolled_back"] == "3.0"
    agent.step()
    assert up.reboots == 2                            # not tried again
    publish(world.server, world.bundles, "3.1")        # until a newer release
    agent.step()
    assert agent.step()["version"] == "3.1"
    assert [f.name for f in (Path(agent.settings.data_dir) / "updates").iterdir()] == [
        "agent-state.json"]                           # cleaned up (what it remembers stays)


def test_bad_bundles_end_in_a_clear_state(world: World) -> None:
    agent, up = world.agent, world.updater
    publish(world.server, world.bundles, "2.0")
    bundle = world.bundles / "kiosk-2.0.raucb"         # replaced on disk after registration
    bundle.write_bytes(bundle.read_bytes().replace(b'"boots"', b'"boot!"'))
    assert agent.step() == {"state": "failed", "version": "1.0", "slot": "A", "target": "2.0",
                            "reason": "download: sha256 mismatch"}
    publish(world.server, world.bundles, "2.1", signed=False)
    state = agent.step()
    assert state["state"] == "failed" and state["reason"].startswith("signature:")
    agent.step()
    up.fail_io = True
    publish(world.server, world.bundles, "2.2")
    state = agent.step()
    assert state["state"] == "failed" and state["reason"].startswith("io:")
    agent.step()                                      # an I/O failure is tried again
    assert up.status().primary_slot.version == "2.2"  # type: ignore[union-attr]
    assert up.status().running_version == "1.0" or up.reboots == 1


def test_dead_network_then_resume(world: World) -> None:
    agent = world.agent
    release = publish(world.server, world.bundles, "2.0", padding=1_000_000)
    bundle = (world.bundles / "kiosk-2.0.raucb").read_bytes()
    part = Path(agent.settings.data_dir) / "updates" / "2.0.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(bundle[:400_000])                # an earlier, interrupted download
    world.server.stop()                               # the network is dead
    state = agent.step()
    assert state["state"] == "failed" and state["reason"].startswith("network")
    assert world.updater.status().running_version == "1.0" and part.exists()
    world.server.start()
    asked = world.watch_downloads()
    world.busy = True
    assert agent.step()["state"] == "waiting-idle"
    assert asked == [{"Range": "bytes=400000-"}]      # resumed, not started over
    assert (part.parent / "2.0.bundle").stat().st_size == release["size"]


def test_reboot_window() -> None:
    assert in_window("", datetime(2026, 1, 1, 12))
    assert in_window("22:00-05:00", datetime(2026, 1, 1, 23)) and \
        in_window("22:00-05:00", datetime(2026, 1, 1, 4))
    assert not in_window("22:00-05:00", datetime(2026, 1, 1, 12))


def test_the_updater_is_chosen_by_name(tmp_path: Path) -> None:
    from kiosk.domain.errors import ConfigError
    from kiosk.domain.section import Section
    from kiosk.fleet.agent import open_updater
    from kiosk.fleet.updater import RaucUpdater

    def settings(**fleet: Any) -> FleetSettings:
        return FleetSettings.from_section(Section(fleet, "kiosk.toml", "fleet"), tmp_path)

    assert open_updater(settings()) is None                       # "none" by default
    assert isinstance(open_updater(settings(updater="rauc")), RaucUpdater)
    standin = open_updater(settings(updater="standin", standin_version="7.0"))
    assert isinstance(standin, StandinUpdater) and standin.status().running_version == "7.0"
    with pytest.raises(ConfigError, match=r"fleet\.updater"):
        open_updater(settings(updater="swupdate"))
    with pytest.raises(ConfigError, match="reboot_window"):
        settings(reboot_window="late")
    with pytest.raises(ConfigError):
        settings(check_interval=3)


def test_a_new_target_waits_a_random_time_first(world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread's checks (defer_new): a target not heard before is noted, and the download
    starts only at the next check, after a random wait within check_seconds."""
    import kiosk.fleet.agent as agent_module
    waits: list[float] = []
    monkeypatch.setattr(agent_module, "spread", lambda s: waits.append(s) or 0.25 * s)
    agent = world.agent
    publish(world.server, world.bundles, "2.0")
    assert agent.step(defer_new=True)["state"] == "up-to-date"
    assert waits == [300.0] and agent.wait == 75.0
    assert not (agent.settings.downloads / "2.0.part").exists()
    assert agent.step(defer_new=True)["state"] == "waiting-reboot" or \
        world.updater.status().running_version == "2.0"
    assert waits == [300.0]                            # the same target: no second wait


def test_it_remembers_refused_and_rolled_back_versions(world: World) -> None:
    """A restart (a new agent on the same download dir) does not download again a version
    refused or rolled back, even when the slot that failed was written over since."""
    up = world.updater
    publish(world.server, world.bundles, "2.1", signed=False)
    assert world.agent.step()["reason"].startswith("signature:")
    publish(world.server, world.bundles, "3.0", boots=False)
    world.agent.step()
    assert world.agent.step()["state"] == "rolled-back" and up.reboots == 1
    data = json.loads(up.state_file.read_text())      # the bad slot is written over later
    for slot in data["slots"].values():
        if slot["boot_status"] == "bad":
            slot.update(version="1.5", boot_status="good")
    up.state_file.write_text(json.dumps(data))
    for version, state in (("2.1", "failed"), ("3.0", "rolled-back")):
        target(world.server, "kita", version)
        fresh = World(world.server, world.tmp, updater=up)
        asked = fresh.watch_downloads()
        assert fresh.agent.step()["state"] == state
        assert asked == []
    assert up.reboots == 1


def test_an_offline_kiosk_installs_the_last_target_heard(world: World) -> None:
    """Downloaded and checked, then the back-office is unreachable: installed when idle
    (the reboot waits for the back-office); not when the last target heard is another."""
    agent, up = world.agent, world.updater
    publish(world.server, world.bundles, "2.0")
    world.busy = True
    assert agent.step()["state"] == "waiting-idle"
    world.server.stop()
    assert agent.step()["state"] == "waiting-idle"     # still a visit: nothing
    world.busy = False
    state = World(world.server, world.tmp, updater=up).agent.step()   # a restart, offline
    assert state["state"] == "waiting-reboot" and state["reason"].startswith("network")
    assert up.status().primary_slot.version == "2.0" and up.reboots == 0  # type: ignore[union-attr]
    world.server.start()
    agent.step()
    assert up.reboots == 1 and up.status().running_version == "2.0"

    publish(world.server, world.bundles, "2.1")
    world.busy = True
    assert agent.step()["state"] == "waiting-idle"     # 2.1 downloaded
    register(world.server, world.bundles, "2.2")
    target(world.server, "kita", "2.2")
    agent.step(defer_new=True)                          # heard 2.2, not downloaded yet
    world.server.stop()
    world.busy = False
    agent.step()
    assert up.status().primary_slot.version == "2.0"  # type: ignore[union-attr]
    world.server.start()

    world.clock = datetime(2026, 12, 5, 12, 0)          # outside the reboot window
    agent.step(), agent.step()                          # 2.2 installed, waiting to reboot
    assert agent.state["state"] == "waiting-reboot" and up.status().primary == "A"
    target(world.server, "kita", "2.0")                 # the ward goes back to 2.0
    assert agent.step()["state"] == "up-to-date"
    assert up.status().primary == "B"                  # a reboot now boots 2.0 again


def test_several_kiosks_share_the_downloads(backoffice_factory: Any, tmp_path: Path) -> None:
    """[fleet] max_downloads = 1: a second download at once is answered 503 + Retry-After;
    four kiosks' agents (threads, as in the app) wait it out and all end on 2.0."""
    import time

    import requests
    server = backoffice_factory.start(config={"fleet": {
        **fleet_config(tmp_path / "bundles")["fleet"], "max_downloads": 1,
        "retry_after_seconds": 1}})
    release = publish(server, tmp_path / "bundles", "2.0", padding=8_000_000)
    url = server.api("/device/bundles/2.0")
    kiosk = server.session("kiosk")
    held = kiosk.get(url, stream=True, timeout=30)      # one download under way
    busy = kiosk.get(url, timeout=30)
    assert held.status_code == 200 and busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "1" and busy.json()["error"] == "too_many_downloads"
    kiosks = [World(server, tmp_path / f"k{i}", check_seconds=1.0) for i in range(4)]
    part = Path(kiosks[0].agent.settings.downloads) / "2.0.part"   # an earlier break
    part.parent.mkdir(parents=True)
    part.write_bytes((tmp_path / "bundles" / "kiosk-2.0.raucb").read_bytes()[:1_000_000])
    asked = kiosks[0].watch_downloads()
    started = time.monotonic()
    for k in kiosks:
        k.agent.start()
    time.sleep(4.0)                                     # every agent meets the full gate
    held.close()
    try:
        while time.monotonic() - started < 120 and any(
                k.updater.status().running_version != "2.0" for k in kiosks):
            time.sleep(0.2)
        took = time.monotonic() - started
    finally:
        for k in kiosks:
            k.agent.stop()
    assert [k.updater.status().running_version for k in kiosks] == ["2.0"] * 4
    assert all(any("server busy" in str(r.get("reason")) for r in k.reports) for k in kiosks)
    assert len(asked) >= 2 and all(h == {"Range": "bytes=1000000-"} for h in asked)
    assert requests.get(url, timeout=30).status_code == 401
    print(f"4 kiosks, max_downloads=1, {release['size'] / 1e6:.0f} MB: all on 2.0 in "
          f"{took:.1f} s")
def test_the_shipped_kiosk_toml_fleet_section_loads() -> None:
    """config/kiosk.toml ships `reboot_window = ""` (whenever idle): the app's agent must
    accept it — in the image in qemu (boot-test.sh --fleet-app) it refused it and the real
    app exited at every start once a back-office link made it read [fleet]."""
    import tomllib

    from kiosk.domain.section import Section
    data = tomllib.loads((Path(__file__).resolve().parents[2] / "config/kiosk.toml").read_text())
    s = FleetSettings.from_section(Section(data, "kiosk.toml").section("fleet"), Path("/data"))
    assert s.reboot_window == "" and s.updater == "none"
