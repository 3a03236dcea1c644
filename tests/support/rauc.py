"""A real RAUC 1.8 (Debian's `rauc`) on two raw file slots, for the updater adapter's
tests: its D-Bus service on a private bus, `/proc/cmdline` saying `rauc.slot=A` (a mount
namespace of its own), a custom bootloader backend keeping the primary slot and each
slot's good/bad in files, a test CA as keyring, and bundles built with `rauc bundle`.
Needs root (for the mount namespace), rauc, dbus-daemon and mksquashfs: skips otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BACKEND = """#!/bin/sh
D={root}
case "$1" in
  get-primary) cat $D/primary ;;
  set-primary) echo "$2" > $D/primary ;;
  get-state) cat $D/state.$2 2>/dev/null || echo good ;;
  set-state) echo "$3" > $D/state.$2 ;;
esac
"""
SYSTEM = """[system]
compatible=ward-kiosk-amd64
bootloader=custom
data-directory={root}/data

[keyring]
path={root}/ca.pem

[handlers]
bootloader-custom-backend={root}/backend.sh

[slot.rootfs.0]
device={root}/a.img
type=raw
bootname=A

[slot.rootfs.1]
device={root}/b.img
type=raw
bootname=B
"""


@dataclass
class RaucSystem:
    root: Path
    env: dict[str, str]

    def key(self, name: str) -> tuple[Path, Path]:
        cert, key = self.root / f"{name}.cert.pem", self.root / f"{name}.key.pem"
        if not cert.exists():
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
                            "-days", "3"], check=True, capture_output=True)
        return cert, key

    def bundle(self, version: str, *, compatible: str = "ward-kiosk-amd64",
               signer: str = "ca") -> Path:
        src = self.root / f"src-{version}-{signer}"
        src.mkdir()
        (src / "rootfs.img").write_bytes(os.urandom(65536))
        (src / "manifest.raucm").write_text(
            f"[update]\ncompatible={compatible}\nversion={version}\n\n"
            "[image.rootfs]\nfilename=rootfs.img\n")
        out = self.root / f"{version}-{signer}.raucb"
        cert, key = self.key(signer)
        subprocess.run(["rauc", "bundle", f"--cert={cert}", f"--key={key}", str(src),
                        str(out)], check=True, capture_output=True)
        return out

    def mark(self, bootname: str, state: str) -> None:
        (self.root / f"state.{bootname}").write_text(state + "\n")


@pytest.fixture
def rauc_system(tmp_path: Path) -> Iterator[RaucSystem]:
    if os.geteuid() != 0 or not all(shutil.which(x) for x in (
            "rauc", "dbus-daemon", "unshare", "mksquashfs", "openssl")):
        pytest.skip("needs root, rauc, dbus-daemon, unshare, mksquashfs and openssl")
    root = tmp_path / "rauc"
    (root / "data").mkdir(parents=True)
    for img in ("a.img", "b.img"):
        (root / img).write_bytes(b"\0" * 2**20)
    (root / "backend.sh").write_text(BACKEND.format(root=root))
    (root / "backend.sh").chmod(0o755)
    (root / "primary").write_text("A\n")
    (root / "system.conf").write_text(SYSTEM.format(root=root))
    (root / "cmdline").write_text("quiet rauc.slot=A\n")
    shutil.copy(RaucSystem(root, {}).key("ca")[0], root / "ca.pem")
    bus = f"unix:path={root}/bus"
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus}
    dbus = subprocess.Popen(["dbus-daemon", "--session", f"--address={bus}", "--nofork"])
    service = None
    try:
        for _ in range(50):
            if (root / "bus").exists():
                break
            time.sleep(0.1)
        service = subprocess.Popen(
            # RAUC reads the booted slot from /proc/cmdline: ours, in a mount namespace of its
            # own. "--propagation unchanged" + making the mounts private by hand works in a
            # plain chroot too, where "/" is no mount point and unshare's own step fails.
            ["unshare", "-m", "--propagation", "unchanged", "sh", "-c",
             "{ mount --make-rprivate / 2>/dev/null || mount --make-rprivate /proc; } && "
             f"mount --bind {root}/cmdline /proc/cmdline && "
             f"exec rauc service -c {root}/system.conf"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["rauc", "status"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.skip("the RAUC service did not start here")
        yield RaucSystem(root, env)
    finally:
        for proc in (service, dbus):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
