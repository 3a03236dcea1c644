"""`provision --apply` as the image's first-boot service runs it, into temp folders: the
kiosk.toml it writes is read by the app's own loaders; a bad file changes nothing."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from kiosk import provision
from kiosk.card.config import CardConfig
from kiosk.printing.config import load_printer_config
from kiosk.sync.settings import load_settings
from kiosk.ui.settings import UiConfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "provision.example.toml"


def apply(file: Path, data: Path, runtime: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kiosk", "provision", "--apply", str(file),
           "--state", str(data / "provisioned"), "--config-dir", str(data / "config")]
    if runtime is not None:
        cmd += ["--runtime-root", str(runtime)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_first_boot_applies_then_unchanged(tmp_path: Path) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    done = apply(EXAMPLE, data, run)
    assert done.returncode == 0, done.stderr
    assert "applied (first boot with this file): kiosk kita-01 ward kita" in done.stdout
    state = data / "provisioned"
    assert (state / "device-token").read_text().startswith("dv_")
    assert stat.S_IMODE((state / "device-token").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "outbox.key").stat().st_mode) == 0o600
    assert "BEGIN CERTIFICATE" in (state / "ca.pem").read_text()
    applied = json.loads((state / "applied.json").read_text())
    assert applied["first_boot"] is True and applied["kiosk"]["kiosk_id"] == "kita-01"
    assert "dv_" not in (state / "applied.json").read_text()
    assert (run / "systemd/timesyncd.conf.d/kiosk.conf").read_text() == \
        "[Time]\nNTP=ntp.city.example.jp\n"

    # The app's own loaders read what provisioning wrote.
    sync = load_settings(data / "config" / "kiosk.toml")
    assert sync.backoffice.url == "https://queue.city.example.jp"
    assert sync.backoffice.ward == "kita"
    assert str(sync.store.path) == str(data / "store" / "kiosk.db")
    ui = UiConfig.load(data / "config" / "kiosk.toml")
    assert (ui.ward, ui.desk) == ("kita", "sync")
    printer = load_printer_config(data / "config" / "kiosk.toml")
    assert (printer.transport, printer.usb_vendor_id, printer.usb_product_id) == \
        ("usb", 0x04B8, 0x0E28)
    card = CardConfig.load(data / "config" / "kiosk.toml")
    assert (card.backend, card.reader) == ("pcsc", "Sony FeliCa")
    assert (data / "config" / "catalog.toml").exists()
    assert (data / "config" / "life_events.toml").exists()  # the life events (#17)

    again = apply(EXAMPLE, data)
    assert again.returncode == 0 and "provisioning unchanged" in again.stdout
    assert json.loads((state / "applied.json").read_text())["applied_at"] == applied["applied_at"]


def test_bad_file_keeps_the_last_good_provisioning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert apply(EXAMPLE, data).returncode == 0
    before = (data / "config" / "kiosk.toml").read_text()
    bad = tmp_path / "provision.toml"
    bad.write_text(EXAMPLE.read_text().replace('ward = "kita"', 'ward = "nowhere"'))
    done = apply(bad, data)
    assert done.returncode == 1
    assert "kiosk.ward: unknown ward 'nowhere'" in done.stderr
    assert "the last good provisioning stays in force" in done.stderr
    assert (data / "config" / "kiosk.toml").read_text() == before
    assert "unknown ward" in (data / "provisioned" / "last-error.txt").read_text()
    # Fixing the file clears the error.
    assert apply(EXAMPLE, data).returncode == 0
    assert not (data / "provisioned" / "last-error.txt").exists()


def test_never_provisioned_and_no_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = apply(tmp_path / "absent.toml", data)
    assert done.returncode == 1
    assert "does not exist; the kiosk is NOT provisioned" in done.stderr


def test_standin_devices_and_locale_reach_their_sections(tmp_path: Path) -> None:
    p = provision.load(EXAMPLE)
    template = {"ui": {"language": "ja", "languages": ["ja", "en"]},
                "printer": {"transport": "usb", "model": "generic-80mm"},
                "card": {"backend": "pcsc"}, "backoffice": {}}
    standin = provision.Provisioning(**{**p.__dict__, "locale": "ko",
                                        "printer": provision.Printer("standin"),
                                        "card_reader": provision.CardReader("standin")})
    cfg = provision.kiosk_config(standin, template, tmp_path / "provisioned")
    assert "card" not in cfg["ui"] and "printer" not in cfg["ui"]   # one switch per device
    assert cfg["printer"] == {"transport": "standin", "model": "generic-80mm"}
    assert cfg["card"] == {"backend": "standin"}  # no key invented: "reader" was not there
    assert cfg["ui"]["language"] == "ko" and cfg["ui"]["languages"][0] == "ko"
    assert "token" not in repr(standin.summary())


def test_dump_toml_round_trips() -> None:
    import tomllib

    data = {"a": {"s": 'quote " and 日本語', "n": 3, "f": 0.5, "b": True, "l": ["x", 1],
                  "t": {"k": "v"}, "e": {}}}
    assert tomllib.loads(provision.dump_toml(data, "header\nline")) == data


def test_new_image_with_a_changed_template_rewrites_the_config(tmp_path: Path) -> None:
    """An update ships a new config/kiosk.toml; provision.toml is unchanged."""
    shipped = tmp_path / "shipped"
    shutil.copytree(REPO / "config", shipped)
    data = tmp_path / "data"
    state, config = data / "provisioned", data / "config"
    first = provision.apply(EXAMPLE, state, config, template_dir=shipped)
    assert first["first_boot"] is True
    token_before = (state / "device-token").stat().st_mtime_ns
    again = provision.apply(EXAMPLE, state, config, template_dir=shipped)
    assert again["first_boot"] is False
    template = (shipped / "kiosk.toml").read_text()
    (shipped / "kiosk.toml").write_text(
        template.replace("idle_timeout_s = 90", "idle_timeout_s = 75"))
    updated = provision.apply(EXAMPLE, state, config, template_dir=shipped)
    assert updated["first_boot"] is False  # same provisioning file ...
    assert UiConfig.load(config / "kiosk.toml").session.idle_timeout_s == 75  # ... new template
    assert (state / "device-token").stat().st_mtime_ns == token_before


def test_fleet_section_reaches_the_apps_fleet_settings(tmp_path: Path) -> None:
    """[fleet] of provision.toml (boot-test.sh --fleet-app writes it) becomes kiosk.toml's
    [fleet], which the app's update agent reads; without it the shipped "none" stays."""
    import tomllib

    from kiosk.domain.section import Section
    from kiosk.fleet.agent import FleetSettings
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'updater = "none"', 'updater = "rauc"\ncheck_seconds = 15\nreboot_window = "02:00-05:00"')
    (tmp_path / "provision.toml").write_text(text, encoding="utf-8")
    done = apply(tmp_path / "provision.toml", tmp_path / "data")
    assert done.returncode == 0, done.stderr
    written = tomllib.loads((tmp_path / "data/config/kiosk.toml").read_text())
    fleet = FleetSettings.from_section(Section(written, "kiosk.toml").section("fleet"), tmp_path)
    assert (fleet.updater, fleet.check_seconds, fleet.reboot_window) == \
        ("rauc", 15.0, "02:00-05:00")
    done = apply(EXAMPLE, tmp_path / "plain")
    assert done.returncode == 0, done.stderr
    written = tomllib.loads((tmp_path / "plain/config/kiosk.toml").read_text())
    assert written["fleet"]["updater"] == "none"
