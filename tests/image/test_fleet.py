"""A/B updates of the kiosk image (docs/image.md "Update"): signed RAUC bundles and the
bootloader backend that drives systemd-boot's boot counting. The qemu test (install v2,
reboot into it, roll back a broken v3) is `hardware/image/boot-test.sh --fleet`: it runs here
only when asked (KIOSK_FLEET_TEST=1, as root, with a test image built)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "hardware" / "image"
BUNDLE = IMAGE / "bundle.sh"
BACKEND = IMAGE / "rootfs" / "usr" / "local" / "lib" / "kiosk" / "rauc-bootloader.sh"

needs_rauc = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("rauc", "mksquashfs", "openssl", "mkfs.ext4")),
    reason="needs rauc, squashfs-tools, openssl, e2fsprogs (scripts/bootstrap installs them)")


def run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def make_bundle(tmp: Path, keys: Path, version: str) -> Path:
    root = tmp / f"{version}.img"
    with root.open("wb") as fh:
        fh.truncate(8 << 20)
    run("mkfs.ext4", "-q", root, check=True)
    out = tmp / f"kiosk-{version}.raucb"
    made = run(BUNDLE, "--root", root, "--version", version, "--cert", keys / "signing.cert.pem",
               "--key", keys / "signing.key.pem", "--keyring", keys / "ca.cert.pem", "--out", out)
    assert made.returncode == 0, made.stderr
    return out


@needs_rauc
def test_a_bundle_verifies_against_its_keyring_and_not_another(tmp_path: Path) -> None:
    for name in ("city", "other"):
        assert run(BUNDLE, "--dev-keys", tmp_path / name).returncode == 0
    assert {p.name for p in (tmp_path / "city").iterdir()} >= {
        "ca.cert.pem", "ca.key.pem", "signing.cert.pem", "signing.key.pem"}
    bundle = make_bundle(tmp_path, tmp_path / "city", "1.2.3")
    city_ca = tmp_path / "city" / "ca.cert.pem"
    info = run("rauc", "info", "--output-format=shell", f"--keyring={city_ca}", bundle)
    assert info.returncode == 0, info.stderr
    assert "RAUC_MF_COMPATIBLE='ward-kiosk-amd64'" in info.stdout
    assert "RAUC_MF_VERSION='1.2.3'" in info.stdout and "root.ext4" in info.stdout
    # The kiosk trusts one CA: a bundle signed under another is refused.
    foreign = run("rauc", "info", f"--keyring={tmp_path / 'other' / 'ca.cert.pem'}", bundle)
    assert foreign.returncode != 0 and "signature verification failed" in foreign.stderr
    # A version string that could break the file name or the manifest is refused.
    bad = run(BUNDLE, "--root", bundle, "--version", "1 2", "--cert", "x", "--key", "y",
              "--out", "z")
    assert bad.returncode == 2 and "version" in bad.stderr


def backend(esp: Path, trees: Path, *args: str) -> str:
    env = {**os.environ, "KIOSK_ESP": str(esp), "KIOSK_SLOT_TREES": str(trees),
           "KIOSK_BOOT_TRIES": "3"}
    done = run("sh", BACKEND, *args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def entries(esp: Path) -> list[str]:
    return sorted(p.name for p in (esp / "loader" / "entries").iterdir())


def test_the_backend_puts_a_new_slot_on_trial_and_falls_back_without_tries(
        tmp_path: Path) -> None:
    esp, trees = tmp_path / "esp", tmp_path / "slots"
    (esp / "loader" / "entries").mkdir(parents=True)
    # As build.sh makes it: slot A, blessed.
    (esp / "loader" / "entries" / "kiosk-1-a.conf").write_text("title v1\n")
    for slot, version in (("a", "v1"), ("b", "v2")):
        tree = trees / slot
        (tree / "lib" / "modules" / "6.1.0-99-amd64").mkdir(parents=True)
        (tree / "boot").mkdir()
        (tree / "boot" / "vmlinuz-6.1.0-99-amd64").write_text(f"kernel {version}")
        (tree / "boot" / "initrd.img-6.1.0-99-amd64").write_text(f"initrd {version}")
        (tree / "etc" / "kiosk").mkdir(parents=True)
        (tree / "etc" / "kiosk" / "cmdline.txt").write_text(
            (IMAGE / "cmdline.txt").read_text())
        (tree / "opt" / "kiosk").mkdir(parents=True)
        (tree / "opt" / "kiosk" / "VERSION").write_text(f"{version} 2026-12-05T00:00:00Z\n")
    assert backend(esp, trees, "get-primary") == "A"
    assert backend(esp, trees, "get-state", "A") == "good"
    assert backend(esp, trees, "get-state", "B") == "bad"        # never installed
    # What RAUC does to install into B: mark it bad, write it, make it primary.
    backend(esp, trees, "set-state", "B", "bad")
    backend(esp, trees, "set-primary", "B")
    assert entries(esp) == ["kiosk-1-a.conf", "kiosk-2-b+3.conf"]
    entry = (esp / "loader" / "entries" / "kiosk-2-b+3.conf").read_text()
    assert "linux /b/vmlinuz\ninitrd /b/initrd.img\n" in entry
    assert "title Ward kiosk v2 (slot B)" in entry
    options = entry.split("options ", 1)[1].split()
    assert "root=PARTLABEL=kiosk-root-b" in options and "rauc.slot=B" in options
    assert "root=PARTLABEL=kiosk-root-a" not in options and "consoleblank=0" in options
    assert (esp / "b" / "vmlinuz").read_text() == "kernel v2"
    assert backend(esp, trees, "get-primary") == "B"             # boots next, on trial
    assert backend(esp, trees, "get-state", "B") == "good"
    # systemd-boot counts down; with no try left the entry is bad and sorts last: A again.
    entries_dir = esp / "loader" / "entries"
    (entries_dir / "kiosk-2-b+3.conf").rename(entries_dir / "kiosk-2-b+0-3.conf")
    assert backend(esp, trees, "get-primary") == "A"
    assert backend(esp, trees, "get-state", "B") == "bad"
    # A boot that reached boot-complete.target: systemd-bless-boot drops the counter.
    (entries_dir / "kiosk-2-b+0-3.conf").rename(entries_dir / "kiosk-2-b.conf")
    assert backend(esp, trees, "get-primary") == "B"
    # rauc status mark-bad / mark-good on A.
    backend(esp, trees, "set-state", "A", "bad")
    assert entries(esp) == ["kiosk-1-a+0.conf", "kiosk-2-b.conf"]
    assert backend(esp, trees, "get-state", "A") == "bad"
    backend(esp, trees, "set-state", "A", "good")
    assert backend(esp, trees, "get-state", "A") == "good"
    # The next install goes to A: a newer generation, on trial, first in systemd-boot's order.
    backend(esp, trees, "set-primary", "A")
    assert entries(esp) == ["kiosk-2-b.conf", "kiosk-3-a+3.conf"]
    assert backend(esp, trees, "get-primary") == "A"


@pytest.mark.skipif(os.environ.get("KIOSK_FLEET_TEST") != "1",
                    reason="the qemu fleet test takes 30-40 min (TCG): KIOSK_FLEET_TEST=1, "
                           "as root, after hardware/image/build.sh --with-standins")
def test_fleet_update_and_rollback_in_qemu() -> None:
    done = run(IMAGE / "boot-test.sh", "--fleet", timeout=3600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "FLEETTEST PASS" in done.stderr


@pytest.mark.skipif(os.environ.get("KIOSK_FLEET_APP_TEST") != "1",
                    reason="the qemu fleet test with the app's own update agent takes ~20-30 min "
                           "(TCG): KIOSK_FLEET_APP_TEST=1, as root, after "
                           "hardware/image/build.sh --with-standins")
def test_the_app_updates_itself_from_the_backoffice_in_qemu() -> None:
    """The real kiosk app (Kivy, stand-in devices) enrols with a one-time code, takes the
    ward's target release from a real back-office, installs it while idle, reboots into
    it with the network cut (no NTP: it must still get ready and be blessed), and the
    supervisor's devices endpoint then shows it on v2, up to date, on slot B."""
    done = run(IMAGE / "boot-test.sh", "--fleet-app", timeout=3600)
    assert done.returncode == 0, done.stderr[-4000:]
    for check in ("app-asked-for-reboot", "v2-ready-without-network", "v2-blessed",
                  "rauc-booted-B-good", "backoffice-sees-v2-up-to-date"):
        assert f"FLEETTEST {check} PASS" in done.stderr, check


def test_a_slot_on_trial_must_reach_kiosk_ready_or_reboot() -> None:
    from tests.image.test_image_recipe import unit

    gate = unit("kiosk-ready-gate.service")
    # Pulled in only by boot-complete.target (i.e. only on a counted boot), before it.
    assert gate["Install.RequiredBy"] == ["boot-complete.target"]
    assert gate["Unit.Before"] == ["boot-complete.target"]
    assert gate["Unit.FailureAction"] == ["reboot"]
    assert "WantedBy" not in " ".join(gate)
    env = (IMAGE / "rootfs" / "etc" / "kiosk" / "update.env").read_text()
    assert "KIOSK_BOOT_TRIES=3\n" in env and "KIOSK_READY_TIMEOUT=300\n" in env
    script = (IMAGE / "rootfs" / "usr" / "local" / "lib" / "kiosk" / "ready-gate.sh").read_text()
    assert "systemctl is-active kiosk.service" in script and "exit 1" in script
    build = (IMAGE / "build.sh").read_text()
    for name in ("kiosk-ready-gate.service", "kiosk-reboot.path", "kiosk-fleettest.service"):
        assert name in build
    assert "systemd-boot\nrauc\n" in (IMAGE / "packages.txt").read_text()


def test_the_app_may_install_and_reboot_but_not_more() -> None:
    from tests.image.test_image_recipe import unit

    rootfs = IMAGE / "rootfs"
    policy = (rootfs / "etc" / "dbus-1" / "system.d" / "de.pengutronix.rauc.conf").read_text()
    assert '<policy user="kiosk">\n    <allow send_destination="de.pengutronix.rauc"/>' in policy
    assert ('<policy context="default">\n    <deny send_destination="de.pengutronix.rauc"/>'
            in policy)
    assert policy.count("allow own=") == 1 and '<policy user="root">\n    <allow own=' in policy
    # The reboot request: a file root made, the kiosk may write but not create files beside
    # it (/run/kiosk also holds app.env, which the kiosk unit reads).
    tmpfiles = (rootfs / "etc" / "tmpfiles.d" / "kiosk.conf").read_text()
    assert "d /run/kiosk                      0755 root  root  -" in tmpfiles
    assert "f /run/kiosk/reboot-request     0660 root  kiosk -" in tmpfiles
    assert unit("kiosk-reboot.path")["Path.PathChanged"] == ["/run/kiosk/reboot-request"]
    assert "systemctl reboot" in unit("kiosk-reboot.service")["Service.ExecStart"][0]
    assert unit("kiosk.service")["Service.ReadWritePaths"] == [
        "/var/lib/ward-kiosk -/run/kiosk/reboot-request"]
    conf = (rootfs / "etc" / "rauc" / "system.conf").read_text()
    assert "bootloader=custom" in conf and "path=/etc/rauc/keyring.pem" in conf
    assert "device=/dev/disk/by-partlabel/kiosk-root-a" in conf and "bootname=B" in conf
