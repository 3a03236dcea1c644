"""The demo's kiosk with the real card stack: `python -m kiosk --demo --headless
--walkthrough DIR` (what the demo does where there is no display, and what
scripts/kiosk_screens runs in every mode) starts a back-office, the payment provider and
terminal stand-ins, a private pcscd + vpcd with the stand-in My Number card, and the
ESC/POS stand-in printer over TCP; the scripted visits must leave a screenshot of every
screen (the payment screens and the status-page QR on every ticket screen included), the
printed tickets as PNGs, and a payment the back-office records as paid."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kiosk.ui.demo import pcsc_rig_available

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.kivy, pytest.mark.pcsc, pytest.mark.slow]


@pytest.mark.skipif(pcsc_rig_available() is not None, reason="no pcscd/vpcd here")
def test_headless_demo_reads_the_card_through_pcscd_and_prints(tmp_path: Path) -> None:
    shots, var = tmp_path / "shots", tmp_path / "demo"
    env = dict(os.environ, KIVY_HOME=str(tmp_path / "kivy"), SDL_VIDEODRIVER="offscreen",
               KIVY_NO_ARGS="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("DISPLAY", None)
    env.pop("PCSCLITE_CSOCK_NAME", None)  # the demo starts its own pcscd
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "--demo", "--headless", "--walkthrough", str(shots),
         "--demo-dir", str(var)], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "card = the stand-in My Number card through pcscd + vpcd" in done.stdout
    printed = var / "kiosk" / "printer"
    assert f"printed tickets (PNG) land in {printed}" in done.stdout
    names = sorted(p.stem for p in shots.glob("*.png"))
    assert len(names) == 19 and names[-3:] == ["17-cashless-choose", "18-cashless-code",
                                               "19-ticket-paid"], names
    # every ticket screen (card visit, ask staff, paid) shows the status page's QR
    assert "the status-page QR on 3 of 3 ticket screens; 1 paid by code" in done.stdout
    tickets = sorted(printed.glob("job-*.png"))
    assert len(tickets) == 3  # the card visit's, the "ask staff" and the paid visit's
    with sqlite3.connect(var / "backoffice.sqlite3") as db:
        paid = db.execute("SELECT method, amount_yen FROM payments WHERE state = 'paid'"
                          ).fetchall()
    assert paid == [("code", 300)]
    job = json.loads(tickets[0].with_suffix(".json").read_text())
    assert job["complete"] and job["cut"] and job["images"] >= 1
    paper = Image.open(tickets[0]).convert("L")
    assert paper.width == 576 and paper.height > 600
    # the card visits read the card through PC/SC (the rig counts the card's commands)
    answered = [line for line in done.stdout.splitlines() if "APDUs through pcscd" in line]
    assert answered and int(answered[0].split("answered ")[1].split()[0]) > 10, done.stdout
