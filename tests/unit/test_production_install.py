"""A production install — the product's wheel in a venv of its own, without the extra
`ward-kiosk[standins]` — cannot start a stand-in: naming one stops with an error that
names the missing extra. The third-party libraries come from this venv (linked in, one by
one), never its ward-kiosk or ward-kiosk-standins distributions."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from kiosk.devices import STANDINS_EXTRA

REPO = Path(__file__).resolve().parents[2]
OURS = ("ward_kiosk", "__editable__", "kiosk", "hardware", "devtools")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a venv holding the product's wheel alone (built here, no index)."""
    tmp = tmp_path_factory.mktemp("production")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "-w", str(tmp / "wheels"), str(REPO)],
                   check=True, capture_output=True)
    wheel = next((tmp / "wheels").glob("ward_kiosk-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"kiosk", wheel.name.split("-py")[0] + ".dist-info"}, tops
    venv.EnvBuilder(with_pip=False).create(tmp / "venv")
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    # The dependencies: every third-party package of this venv, without our own
    # distributions (their dist-info would bring the stand-ins' entry points along).
    deps = tmp / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OURS) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(f"{deps}\n")
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_the_product_alone_has_no_standins(production: Path, tmp_path: Path) -> None:
    got = run(production, "-c", "import importlib.metadata as m, importlib.util as u; "
              "print(sorted(e.name for e in m.entry_points(group='ward_kiosk.devices')), "
              "u.find_spec('hardware'), u.find_spec('devtools'))", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["[]", "None", "None"]


def test_naming_a_standin_stops_with_the_missing_extra(production: Path,
                                                      tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[card]\nbackend = "standin"\n', encoding="utf-8")
    got = run(production, "-m", "kiosk.card", "--config", str(config), "read", cwd=tmp_path)
    assert got.returncode == 2
    assert "card.backend" in got.stderr and STANDINS_EXTRA in got.stderr, got.stderr
    assert "Traceback" not in got.stderr
    got = run(production, "-c", "from kiosk.printing.config import PrinterConfig\n"
              "from kiosk.domain.section import Section\n"
              "PrinterConfig.from_section(Section({'transport': 'standin'}, 'k.toml', "
              "'printer'))", cwd=tmp_path)
    assert got.returncode == 1
    assert "printer.transport" in got.stderr and STANDINS_EXTRA in got.stderr, got.stderr
