"""hardware/image/update.sh on a disk image file: the OS partitions are replaced, the
config and data partitions are kept byte for byte, and another layout is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UPDATE = REPO / "hardware" / "image" / "update.sh"
MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("sfdisk", "mkfs.vfat", "mcopy", "mtype")),
    reason="needs fdisk, dosfstools, mtools (scripts/bootstrap installs them)")


def disk(path: Path, sizes_mib: tuple[int, ...]) -> list[int]:
    """An empty GPT disk image with partitions of these sizes; returns their starts (bytes)."""
    with path.open("wb") as fh:
        fh.truncate((sum(sizes_mib) + 2) * MIB)
    table = "label: gpt\n" + "".join(f"size={s}MiB, type=L, name=\"p{i}\"\n"
                                     for i, s in enumerate(sizes_mib, 1))
    subprocess.run(["sfdisk", "-q", str(path)], input=table, text=True, check=True)
    parts = json.loads(subprocess.run(["sfdisk", "-J", str(path)], capture_output=True,
                                      text=True, check=True).stdout)
    return [p["start"] * 512 for p in parts["partitiontable"]["partitions"]]


def region(path: Path, start: int, size: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(start)
        return fh.read(size)


def test_update_replaces_os_keeps_config_and_data(tmp_path: Path) -> None:
    image = tmp_path / "build"
    image.mkdir()
    sizes = (2, 2, 1, 1)
    starts = disk(image / "disk.img", sizes)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mkfs.vfat", "-C", str(image / "esp.img"), "2048"], check=True,
                   capture_output=True)
    entry = tmp_path / "kiosk.conf"
    entry.write_text("title Ward kiosk v2\nlinux /vmlinuz\n")
    subprocess.run(["mmd", "-i", str(image / "esp.img"), "::/loader", "::/loader/entries"],
                   check=True, env=env)
    subprocess.run(["mcopy", "-i", str(image / "esp.img"), str(entry),
                    "::/loader/entries/kiosk-1-a.conf"], check=True, env=env)
    new_root = os.urandom(2 * MIB)
    (image / "root.img").write_bytes(new_root)

    target = tmp_path / "kiosk-disk.img"
    shutil.copy(image / "disk.img", target)
    old = {i: os.urandom(sizes[i] * MIB) for i in range(4)}
    with target.open("r+b") as fh:
        for i, data in old.items():
            fh.seek(starts[i])
            fh.write(data)

    done = subprocess.run([str(UPDATE), "--image", str(image), "--yes", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "now boots Ward kiosk v2; config and data kept" in done.stderr
    assert region(target, starts[0], 2 * MIB) == (image / "esp.img").read_bytes()
    assert region(target, starts[1], 2 * MIB) == new_root
    assert region(target, starts[2], MIB) == old[2]  # config partition
    assert region(target, starts[3], MIB) == old[3]  # data partition


def test_update_refuses_another_layout(tmp_path: Path) -> None:
    image = tmp_path / "build"
    image.mkdir()
    disk(image / "disk.img", (2, 2, 1, 1))
    (image / "esp.img").write_bytes(b"")
    (image / "root.img").write_bytes(b"")
    target = tmp_path / "other.img"
    disk(target, (2, 3, 1))
    before = target.read_bytes()
    done = subprocess.run([str(UPDATE), "--image", str(image), "--yes", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "does not have the kiosk image's partition layout" in done.stderr
    assert target.read_bytes() == before
