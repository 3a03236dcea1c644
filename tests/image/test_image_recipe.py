"""Fast, static checks of the image recipe (hardware/image) that CI runs on every change;
the full build + qemu boot test is `hardware/image/build.sh && hardware/image/boot-test.sh`
(docs/image.md)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "hardware" / "image"
ROOTFS = IMAGE / "rootfs"
UNITS = ROOTFS / "etc" / "systemd" / "system"
SCRIPTS = [IMAGE / "build.sh", IMAGE / "boot-test.sh", IMAGE / "update.sh",
           ROOTFS / "usr/local/sbin/kiosk-health", ROOTFS / "usr/local/lib/kiosk/boottest.sh",
           ROOTFS / "usr/local/lib/kiosk/prune-journal.sh",
           ROOTFS / "usr/local/lib/kiosk/screentest.sh",
           ROOTFS / "usr/local/lib/kiosk/app-exited.sh",
           ROOTFS / "usr/local/lib/kiosk/data-unlock.sh",
           IMAGE / "bundle.sh", ROOTFS / "usr/local/lib/kiosk/rauc-bootloader.sh",
           ROOTFS / "usr/local/lib/kiosk/ready-gate.sh",
           ROOTFS / "usr/local/lib/kiosk/fleettest.sh",
           ROOTFS / "usr/local/lib/kiosk/fleetapp.sh",
           ROOTFS / "usr/local/lib/kiosk/clock-wait.sh",
           ROOTFS / "usr/local/lib/kiosk/app-wait.sh",
           ROOTFS / "usr/local/lib/kiosk/fleet-common.sh"]


def unit(name: str) -> dict[str, list[str]]:
    """`Section.Key` -> values (systemd keys may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    text = (UNITS / name).read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(f"{section}.{key}", []).append(value)
    return out


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """The units as systemd itself reads them, in a root with the programs they name."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (scripts/bootstrap installs systemd)"
    root = tmp_path / "root"
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "lib").symlink_to("usr/lib")
    shutil.copytree(ROOTFS / "etc", root / "etc")
    shutil.copytree(ROOTFS / "usr/local", root / "usr/local")
    for program in ("opt/kiosk/venv/bin/python", "bin/sh", "usr/lib/systemd/systemd-cryptsetup",
                    "sbin/dmsetup", "usr/bin/rauc"):
        (root / program).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy("/bin/sh", root / program)
    units = sorted(str(p) for p in (root / "etc/systemd/system").glob("*.service"))
    assert len(units) == 11
    # Debian's unit with the image's drop-in (the bounded wait for NTP).
    units.append(str(root / "usr/lib/systemd/system/systemd-time-wait-sync.service"))
    # --man=no: Debian's own unit names man pages, and a machine without `man` (a minimal
    # root, CI) would fail the check on their absence, not on the units.
    done = subprocess.run([analyze, "verify", "--man=no", f"--root={root}", *units],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), \
        done.stdout + done.stderr


def test_kiosk_unit() -> None:
    u = unit("kiosk.service")
    assert u["Service.Type"] == ["notify"]
    assert u["Service.Restart"] == ["always"]
    assert int(u["Service.WatchdogSec"][0]) >= 10
    assert u["Service.MemoryMax"][0].endswith(("M", "G"))
    assert "time-sync.target" in u["Unit.After"][0] and "time-sync.target" in u["Unit.Wants"][0]
    assert "pcscd.socket" in u["Unit.Wants"][0]
    assert u["Unit.StartLimitIntervalSec"] == ["0"]
    assert u["Service.User"] == ["kiosk"]
    # The app is configurable: the stand-in for the boot test, the Kivy app on a kiosk.
    assert u["Service.ExecStart"] == [
        "/opt/kiosk/venv/bin/python -m $KIOSK_APP_MODULE $KIOSK_APP_ARGS"]
    assert u["Service.EnvironmentFile"] == ["/etc/kiosk/app.env", "-/run/kiosk/app.env"]
    env = (ROOTFS / "etc/kiosk/app.env").read_text()
    assert "KIOSK_APP_MODULE=kiosk\n" in env
    assert "KIOSK_CONFIG_DIR=/var/lib/ward-kiosk/config" in env
    standin = unit("kiosk-boottest-standin.service")
    assert "KIOSK_APP_MODULE=kiosk.service" in standin["Service.ExecStart"][0]
    assert "--standin" in standin["Service.ExecStart"][0]
    assert unit("kiosk-boottest.service")["Unit.ConditionKernelCommandLine"] == ["kiosk.boottest"]
    # The stand-in app for the boot test or the fleet test (either flag: "|" conditions).
    assert unit("kiosk-boottest-standin.service")["Unit.ConditionKernelCommandLine"] == \
        ["|kiosk.boottest", "|kiosk.fleettest"]
    assert unit("kiosk-fleettest.service")["Unit.ConditionKernelCommandLine"] == ["kiosk.fleettest"]
    assert unit("kiosk-fleetapp.service")["Unit.ConditionKernelCommandLine"] == ["kiosk.fleetapp"]
    assert unit("kiosk-screentest.service")["Unit.ConditionKernelCommandLine"] == \
        ["kiosk.screentest"]


def test_the_app_draws_on_kms_and_logs_to_the_journal() -> None:
    """The settings the real app needs on the panel (the screen test boots them):
    SDL's KMS/DRM driver, only the SDL2 window (no fall-back that fails less clearly),
    Kivy logging through Python logging, not Kivy's own mode that swallows stderr."""
    env = dict(line.split("=", 1) for line in (ROOTFS / "etc/kiosk/app.env").read_text()
               .splitlines() if line and not line.startswith("#"))
    assert env["SDL_VIDEODRIVER"] == "kmsdrm"
    assert env["KIVY_WINDOW"] == "sdl2"
    assert env["KIVY_LOG_MODE"] == "PYTHON"
    assert "KIVY_NO_CONSOLELOG" not in env  # pointless in PYTHON mode; any value disables
    # journald's MaxLevelConsole would also silence every journal+console unit's info
    # lines (provisioning, the boot tests): the app's exit reaches the console otherwise.
    journald = (ROOTFS / "etc/systemd/journald.conf.d/kiosk.conf").read_text()
    assert "MaxLevelConsole" not in journald
    assert unit("kiosk.service")["Service.ExecStopPost"] == [
        "+/usr/local/lib/kiosk/app-exited.sh"]
    packages = (IMAGE / "packages.txt").read_text().split()
    assert {"libgl1-mesa-dri", "libegl1", "fonts-wqy-microhei"} <= set(packages)


def test_provisioning_runs_before_time_sync_and_the_app() -> None:
    u = unit("kiosk-provision.service")
    before = u["Unit.Before"][0].split()
    assert {"systemd-timesyncd.service", "kiosk.service", "sysinit.target"} <= set(before)
    assert "/mnt/kiosk-config/provision.toml" in u["Service.ExecStart"][0]
    assert "--apply" in u["Service.ExecStart"][0]
    dropin = (UNITS / "systemd-timesyncd.service.d/kiosk.conf").read_text()
    assert "After=kiosk-provision.service" in dropin


def test_read_only_root_needs_busybox_in_the_initramfs() -> None:
    packages = (IMAGE / "packages.txt").read_text().split()
    for needed in ("busybox", "overlayroot", "initramfs-tools", "pcscd", "libccid",
                   "systemd-timesyncd", "python3-venv", "linux-image-@ARCH"):
        assert needed in packages
    assert "BUSYBOX=y" in (ROOTFS / "etc/initramfs-tools/conf.d/kiosk.conf").read_text()
    conf = (ROOTFS / "etc/overlayroot.local.conf").read_text()
    assert re.search(r'^overlayroot="tmpfs:recurse=0"$', conf, re.M)
    build = (IMAGE / "build.sh").read_text()
    assert "bin/busybox scripts/init-bottom/overlayroot" in build  # checked after every build


def test_fstab_and_cmdline() -> None:
    rows = [line.split() for line in (ROOTFS / "etc/fstab").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert all(len(r) == 6 for r in rows)
    by_mount = {r[1]: r for r in rows}
    assert by_mount["/"][0] == "/dev/root" and by_mount["/"][3].startswith("ro")
    data = by_mount["/var/lib/ward-kiosk"]
    assert data[0] == "/dev/mapper/kiosk-data"      # never the raw (placeholder) partition
    assert "x-systemd.requires=kiosk-data.service" in data[3].split(",")
    assert by_mount["/var/log/journal"][0] == "/var/lib/ward-kiosk/journal"
    assert by_mount["/mnt/kiosk-config"][3].startswith("ro")
    cmdline = (IMAGE / "cmdline.txt").read_text().split()
    assert "consoleblank=0" in cmdline and "root=PARTLABEL=kiosk-root-a" in cmdline
    assert "rauc.slot=A" in cmdline
    assert cmdline[-1] != "kiosk.boottest" and "kiosk.boottest" not in cmdline
    logind = (ROOTFS / "etc/systemd/logind.conf.d/kiosk.conf").read_text()
    assert "NAutoVTs=0" in logind and "ReserveVT=0" in logind
    build = (IMAGE / "build.sh").read_text()
    assert "systemctl mask getty@.service serial-getty@.service autovt@.service" in build


def test_udev_rules_are_well_formed() -> None:
    pair = re.compile(r'^\s*(ENV\{\w+\}|ATTRS?\{[\w/]+\}|[A-Z]+)\s*(==|!=|\+=|=)\s*"[^"]*"\s*$')
    for line in (ROOTFS / "etc/udev/rules.d/70-kiosk-devices.rules").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            for item in line.split(", "):
                assert pair.match(item), f"{item!r} in {line!r}"


def test_no_loop_mounts_and_outputs_stay_in_build() -> None:
    build = (IMAGE / "build.sh").read_text()
    assert "losetup" not in build and "-o loop" not in build
    assert "mkfs.ext4" in build and " -d " in build and "sfdisk" in build
    assert "--variant=minbase" in build
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "hardware/image/build/" in ignored


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_scripts_pass_shellcheck(script: Path) -> None:
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    shell = "sh" if script.read_text().startswith("#!/bin/sh") else "bash"
    subprocess.run([shell, "-n", str(script)], check=True)
    tool = shutil.which("shellcheck")
    assert tool, "shellcheck is missing (scripts/bootstrap installs it)"
    # -x, from the script's folder: fleet-common.sh is sourced by the fleet tests' scripts.
    done = subprocess.run([tool, "-x", "-s", shell, script.name], capture_output=True,
                          text=True, cwd=script.parent)
    assert done.returncode == 0, done.stdout


def test_sntp_server_answers_like_an_ntp_server() -> None:
    """The boot test's clock source, over a real UDP socket on a free port."""
    proc = subprocess.Popen([sys.executable, str(IMAGE / "sntp_server.py"), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            request = bytes([0x23]) + bytes(39) + b"ORIGINTS"
            sock.sendto(request, ("127.0.0.1", port))
            reply = sock.recv(100)
    finally:
        proc.kill()
        proc.wait()
    assert len(reply) == 48
    # mode 4 = server, leap indicator 0 = synchronised, stratum 2
    assert reply[0] & 0x07 == 4 and reply[0] >> 6 == 0 and reply[1] == 2
    assert reply[24:32] == b"ORIGINTS"  # the client's transmit time echoed as origin
    seconds = struct.unpack("!I", reply[40:44])[0] - 2208988800
    assert abs(seconds - time.time()) < 5


def test_prune_journal_drops_the_oldest_boots(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    for age, boot in enumerate(["current", "newer", "older", "oldest"]):
        (journal / boot).mkdir(parents=True)
        (journal / boot / "system.journal").write_bytes(b"x" * 400 * 1024)
        stamp = time.time() - 1000 * age
        os.utime(journal / boot, (stamp, stamp))
    script = ROOTFS / "usr/local/lib/kiosk/prune-journal.sh"
    done = subprocess.run(["sh", str(script), str(journal), "1000", "current"],
                          capture_output=True, text=True, check=True)
    assert sorted(p.name for p in journal.iterdir()) == ["current", "newer"]
    assert "removing the journal of an old boot (oldest)" in done.stdout


@pytest.mark.parametrize(("env", "said"), [
    ({"SERVICE_RESULT": "exit-code", "EXIT_CODE": "exited", "EXIT_STATUS": "3"},
     "kiosk: the app exited (status 3: cannot draw on the screen; exit-code)"),
    ({"SERVICE_RESULT": "watchdog", "EXIT_CODE": "killed", "EXIT_STATUS": "ABRT"},
     "kiosk: the app exited (killed ABRT; watchdog)"),
    ({"SERVICE_RESULT": "success", "EXIT_CODE": "exited", "EXIT_STATUS": "0"}, ""),
])
def test_the_apps_exit_reaches_the_console(tmp_path: Path, env: dict[str, str],
                                           said: str) -> None:
    """kiosk.service's ExecStopPost: why the app ended, on the serial console (here a
    file); a clean stop says nothing."""
    console = tmp_path / "console"
    console.touch()
    done = subprocess.run([str(ROOTFS / "usr/local/lib/kiosk/app-exited.sh")],
                          env={**os.environ, **env, "KIOSK_CONSOLE": str(console)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = console.read_text()
    assert (text.startswith(said) and "restarts so far" in text) if said else text == ""


def test_the_image_ships_the_product_without_stand_ins_or_dev_tools() -> None:
    build = (IMAGE / "build.sh").read_text(encoding="utf-8")
    product = next(line for line in build.splitlines() if line.startswith("PRODUCT="))
    assert product.split("=", 1)[1].strip("()").split() == [
        "kiosk", "config", "assets", "setup.cfg", "pyproject.toml"]
    copies = [line for line in build.splitlines() if "-C \"$APP\"" in line]
    assert copies and all('"${PRODUCT[@]}"' in line for line in copies)
    # ... and without the back-office's settings (its payment provider)
    assert 'rm -f "$APP/config/backoffice.toml"' in build


def test_the_data_partition_is_luks2_opened_by_the_tpm() -> None:
    """kiosk-data.service opens /dev/mapper/kiosk-data before anything mounts the data
    partition; its script encrypts at first boot, keeps only the TPM2's key slot and
    refuses a kiosk without a TPM2 unless provision.toml allows it (docs/image.md)."""
    u = unit("kiosk-data.service")
    assert u["Unit.DefaultDependencies"] == ["no"]
    assert "local-fs.target" in u["Unit.Before"][0]
    assert u["Unit.RequiresMountsFor"] == ["/mnt/kiosk-config"]
    assert u["Service.ExecStart"] == ["/usr/local/lib/kiosk/data-unlock.sh"]
    script = (ROOTFS / "usr/local/lib/kiosk/data-unlock.sh").read_text()
    assert "luksFormat --batch-mode --type luks2" in script
    assert '--tpm2-device=auto --tpm2-pcrs="$PCRS"' in script and "PCRS=7\n" in script
    assert "--wipe-slot=password" in script                  # no key but the TPM's
    assert '"tpm2-device=auto,headless=true"' in script       # unattended, never a prompt
    assert "--allows-no-tpm" in script and "REFUSED: this kiosk has no TPM2" in script
    # Only the never-mounted placeholder is formatted, never a partition holding a store.
    assert script.index("Last mount time") < script.index("luksFormat")
    # The placeholder is never mounted: nothing personal is ever written in plaintext.
    assert "LABEL=kiosk-data" not in (ROOTFS / "etc/fstab").read_text()
    packages = (IMAGE / "packages.txt").read_text().split()
    assert {"cryptsetup-bin", "libtss2-esys-3.0.2-0", "libtss2-rc0", "libtss2-mu0",
            "libtss2-tcti-device0"} <= set(packages)
    # Provisioning (which writes the outbox key) waits for the mounted, opened partition.
    assert "/var/lib/ward-kiosk" in unit("kiosk-provision.service")["Unit.RequiresMountsFor"][0]


def test_only_a_test_image_carries_the_stand_ins_and_the_boot_test_wants_one() -> None:
    """build.sh --with-standins adds hardware/ (and its entry points) for the boot tests,
    which provision the stand-in card and printer; boot-test.sh refuses a production image
    (the product alone) with that advice instead of booting a kiosk that cannot start."""
    build = (IMAGE / "build.sh").read_text(encoding="utf-8")
    assert '[ "$WITH_STANDINS" = 1 ] && PRODUCT+=(hardware devtools)' in build
    assert 'cfg["options.entry_points"]["ward_kiosk.devices"]' in build
    # ... from the stand-ins' own distribution (the extra ward-kiosk[standins]): the
    # product's setup.cfg has neither the stand-ins' packages nor their entry points.
    assert 'python3 - "$REPO/standins/setup.cfg" > "$info/entry_points.txt"' in build
    product, standins = configparser.ConfigParser(), configparser.ConfigParser()
    product.read(REPO / "setup.cfg")
    standins.read(REPO / "standins" / "setup.cfg")
    assert "ward_kiosk.devices" not in product["options.entry_points"]
    assert "hardware" not in product["options.packages.find"]["include"]
    assert "card.standin" in standins["options.entry_points"]["ward_kiosk.devices"]
    assert 'echo "TEST IMAGE: with the device stand-ins (--with-standins)"' in build
    boot = (IMAGE / "boot-test.sh").read_text(encoding="utf-8")
    assert "grep -q '^TEST IMAGE' \"$IMAGE/manifest.txt\"" in boot
    assert "build.sh --with-standins" in boot


def test_the_image_speaks_offline_with_contrib_pinned_to_the_voice() -> None:
    packages = (IMAGE / "packages.txt").read_text().split()
    assert {"open-jtalk", "open-jtalk-mecab-naist-jdic", "hts-voice-nitech-jp-atr503-m001",
            "espeak-ng"} <= set(packages)
    build = (IMAGE / "build.sh").read_text()
    assert "$SUITE contrib" in build
    assert "Package: *\\nPin: release c=contrib\\nPin-Priority: -1" in build
