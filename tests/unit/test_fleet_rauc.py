"""The RAUC adapter (kiosk/fleet/updater.py) against the real RAUC 1.8 of Debian: its JSON
status parsed, a signed bundle installed into the other slot with progress, refusals
(a foreign signature, the wrong compatible, a missing file) told apart, a slot marked bad
seen as a rolled-back version, the reboot asked through the request file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.fleet.updater import InstallRefused, RaucUpdater, parse_rauc_status
from tests.support.rauc import RaucSystem, rauc_system  # noqa: F401 — the fixture

# `rauc status --detailed --output-format=json` of RAUC 1.8 (shape: src/main.c,
# r_status_formatter_json), with a child slot to skip and an installed bundle version.
SAMPLE = """{"compatible":"ward-kiosk-amd64","variant":"","booted":"B","boot_primary":"rootfs.1",
"slots":[{"rootfs.0":{"class":"rootfs","device":"/dev/vda3","type":"ext4","bootname":"A",
"state":"inactive","parent":null,"mountpoint":null,"boot_status":"bad","slot_status":{
"bundle":{"compatible":"ward-kiosk-amd64","version":"3.0"},"checksum":{"sha256":"ab",
"size":10},"installed":{"timestamp":"2026-12-05T04:00:00Z","count":2},"status":"ok"}}},
{"appfs.1":{"class":"appfs","device":"/dev/vda6","type":"ext4","bootname":null,
"state":"active","parent":"rootfs.1","mountpoint":null,"boot_status":null}},
{"rootfs.1":{"class":"rootfs","device":"/dev/vda4","type":"ext4","bootname":"B",
"state":"booted","parent":null,"mountpoint":"/","boot_status":"good","slot_status":{
"bundle":{"compatible":"ward-kiosk-amd64","version":"2.0"}}}}]}"""


def test_parse_a_rauc_status() -> None:
    status = parse_rauc_status(SAMPLE)
    assert [s.name for s in status.slots] == ["rootfs.0", "rootfs.1"]
    assert status.booted == "B" and status.primary == "B"
    assert status.running_version == "2.0"
    assert status.bad_versions() == {"3.0"}
    with pytest.raises(ValueError):
        parse_rauc_status('{"compatible": "x"}')


def test_real_rauc_status_install_and_refusals(rauc_system: RaucSystem,  # noqa: F811
                                               tmp_path: Path) -> None:
    updater = RaucUpdater(env=rauc_system.env, reboot_request=tmp_path / "run" / "reboot")
    status = updater.status()
    assert status.compatible == "ward-kiosk-amd64"
    assert status.booted == "A" and status.primary == "A"
    steps: list[int] = []
    updater.install(rauc_system.bundle("2.0"), lambda pct, _text: steps.append(pct))
    assert steps[-1] == 100 and steps == sorted(steps)
    status = updater.status()
    assert status.primary == "B" and status.primary_slot is not None
    assert status.primary_slot.version == "2.0"
    updater.keep_booted()                     # no longer wanted: the booted slot boots next
    assert updater.status().primary == "A"
    updater.install(rauc_system.bundle("2.0b"))
    assert updater.status().primary == "B"

    refusals = {}
    for name, bundle in (("signature", rauc_system.bundle("2.1", signer="evil")),
                         ("compatible", rauc_system.bundle("2.2", compatible="other")),
                         ("io", tmp_path / "missing.raucb")):
        with pytest.raises(InstallRefused) as refused:
            updater.install(bundle)
        refusals[name] = refused.value.kind
    assert refusals == {"signature": "signature", "compatible": "compatible", "io": "io"}

    rauc_system.mark("B", "bad")   # what boot counting does to a root that never got ready
    assert updater.status().bad_versions() == {"2.0b"}
    updater.request_reboot()
    assert (tmp_path / "run" / "reboot").exists()
