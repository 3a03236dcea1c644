"""The kiosk's payment widget on a real GL context, against the real back-office."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.payment.conftest import REPO, Office

pytestmark = pytest.mark.kivy


def test_widget_shows_code_and_reports_paid(office: Office, tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1",
           "KIVY_HOME": str(tmp_path / "kivy")}
    out = subprocess.run(
        [sys.executable, "-m", "tests.payment.kivy_run", office.url, office.tokens["kiosk-kita"],
         str(office.tickets[0]), office.provider.url, str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["paid"] is True
    assert result["choices"][0] == "スマートフォンのQRコード決済"
    assert "QRコードを読み取って" in result["message"] and result["amount"] == "600円"
    assert result["final_message"] == "お支払いが完了しました。"
    shots = sorted(tmp_path.glob("payment-code*.png"))
    assert shots, "no screenshot"
    img = Image.open(shots[0]).convert("L")
    dark = sum(1 for px in img.getdata() if px < 60) / (img.width * img.height)
    assert dark > 0.05  # the code is on screen (black modules on white)
    assert office.payments_of(office.tickets[0])["paid"] is True


def test_port_from_the_kiosk_link(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from kiosk.domain.section import Section
    from kiosk.payment.config import KioskPaymentSettings
    from kiosk.payment.widget import KioskCashless

    link = SimpleNamespace(
        endpoint=lambda: SimpleNamespace(url="http://127.0.0.1:9", token="dv_x", verify=True,
                                         timeout_s=2.0),
        ticket_id=lambda key: {"k-1": 41}.get(key))
    cfg = KioskPaymentSettings.from_section(Section(
        {"methods": ["code", "counter"], "terminal": {"kind": "none"}}, "kiosk.toml", "payment"))
    port = KioskCashless.from_link(link, cfg, language="en")
    assert port.terminal is None and [m.value for m in port.methods] == ["code", "counter"]
    assert port.resolve_ticket("k-1") == 41 and port.resolve_ticket("ticket:7") == 7
    assert port.resolve_ticket("k-unsynced") is None
    assert port.client.session.headers["Authorization"] == "Bearer dv_x"
