"""The screen test's own parts (hardware/image/screentest.py), without qemu: the reference
visit rendered by the app offscreen, and the pixel check that must refuse a black screen
or a screen without its buttons. The boot itself is `boot-test.sh --screen` (docs/image.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "hardware" / "image" / "screentest.py"


def screentest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screentest", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_visit_and_the_welcome_check(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "reference", "--size", "1280x800",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    plan = json.loads((tmp_path / "plan.json").read_text())
    names = [s["name"] for s in plan["screens"]]
    assert names[0] == "01-welcome" and names[-1] == "07-ticket"
    welcome = plan["screens"][0]
    assert welcome["taps"][0]["action"] == ["start"] and welcome["then"] == "procedure"
    # Seven languages, four options and "start"; the title, subtitle and header texts.
    assert len(welcome["buttons"]) >= 12 and len(welcome["texts"]) >= 3
    assert plan["screens"][-2]["then"] == "ticket"

    st = screentest()
    ref = Image.open(tmp_path / "01-welcome.png").convert("RGB")
    assert st.match(ref, ref) == 1.0
    black = Image.new("RGB", ref.size)
    assert st.match(black, ref) < st.SCREEN_MATCH
    # The background right but the start button missing: the whole screen might still
    # pass, the button's box does not.
    no_start = ref.copy()
    box = welcome["taps"][0]["box"]
    ImageDraw.Draw(no_start).rectangle(box, fill=ref.getpixel((5, 790)))
    assert st.match(no_start, ref, tuple(box)) < st.WIDGET_MATCH
    # The title gone: a text box of the welcome screen catches it.
    title = welcome["texts"][0]
    no_title = ref.copy()
    ImageDraw.Draw(no_title).rectangle(title, fill=ref.getpixel((5, 790)))
    assert min(st.match(no_title, ref, tuple(t)) for t in welcome["texts"]) < st.WIDGET_MATCH
