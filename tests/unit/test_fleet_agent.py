"""The kiosk's update agent (kiosk/fleet/agent.py) with the stand-in updater (two slots)
against a real back-office: a published release is downloaded (sha256-checked, resumed),
installed only while idle, the reboot only when idle and inside the window; a release that
does not boot rolls back and is not tried again; a wrong checksum, a refused signature and
a dead network end in a clear state with the kiosk still on its running version."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hardware.updater import StandinUpdater
from kiosk.fleet.agent import FleetSettings, UpdateAgent, in_window
from tests.support.fleet import fleet_config, kiosk_client, publish, register, target


class World:
    def __init__(self, server: Any, tmp: Path) -> None:
        self.server, self.bundles = server, tmp / "bundles"
        self.updater = StandinUpdater(tmp / "slots.json", version="1.0")
        self.client = kiosk_client(server, tmp)
        self.reports: list[dict[str, Any]] = []
        self.busy = False
        self.clock = datetime(2026, 12, 5, 3, 0)
        self.agent = UpdateAgent(self.updater, self.client, FleetSettings(
            updater="standin", data_dir=str(tmp / "data"), reboot_window="02:00-05:00"),
            idle=lambda: not self.busy, report=self.reports.append, now=lambda: self.clock)

    def states(self) -> list[str]:
        return [r["state"] for r in self.reports]


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
    assert not list((Path(agent.settings.data_dir) / "updates").iterdir())  # cleaned up


def test_bad_bundles_end_in_a_clear_state(world: World) -> None:
    agent, up = world.agent, world.updater
    register(world.server, world.bundles, "2.0", sha256="0" * 64)
    target(world.server, "kita", "2.0")
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
    asked: list[dict[str, str]] = []
    stream = world.client.stream
    world.client.stream = lambda url, headers: asked.append(headers) or stream(url, headers)
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


def test_the_shipped_kiosk_toml_fleet_section_loads() -> None:
    """config/kiosk.toml ships `reboot_window = ""` (whenever idle): the app's agent must
    accept it — in the image in qemu (boot-test.sh --fleet-app) it refused it and the real
    app exited at every start once a back-office link made it read [fleet]."""
    import tomllib

    from kiosk.domain.section import Section
    data = tomllib.loads((Path(__file__).resolve().parents[2] / "config/kiosk.toml").read_text())
    s = FleetSettings.from_section(Section(data, "kiosk.toml").section("fleet"), Path("/data"))
    assert s.reboot_window == "" and s.updater == "none"
