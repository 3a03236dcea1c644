"""Drive the payment widget on a real GL window (SDL offscreen), in its own process.

    python -m tests.payment.kivy_run URL TOKEN TICKET_ID PROVIDER_URL OUT_DIR

Presses the code-payment button, screenshots the QR, has the provider stand-in "scan" it,
waits for done(paid) and prints a JSON line with what happened.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

import requests
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.uix.button import Button

from kiosk.domain.payment import PaymentMethod
from kiosk.payment.client import PaymentClient
from kiosk.payment.flow import Screen
from kiosk.payment.widget import KioskCashless


def pump(seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        EventLoop.idle()
        if callable(until) and until():
            return
        time.sleep(0.01)


def main() -> int:
    url, token, ticket, provider, out = sys.argv[1:6]
    EventLoop.ensure_window()

    port = KioskCashless(PaymentClient(url, token), None,
                         (PaymentMethod.CODE, PaymentMethod.TERMINAL, PaymentMethod.COUNTER),
                         poll_seconds=0.2)
    result: dict[str, object] = {}
    widget = port.start(600, f"ticket:{ticket}", lambda paid: result.setdefault("paid", paid))
    Window.add_widget(widget)
    pump(0.5)
    labels = [b.text for b in widget.buttons.children if isinstance(b, Button)]  # type: ignore[attr-defined]
    result["choices"] = labels[::-1]
    next(b for b in widget.buttons.children if "QR" in b.text).trigger_action(0)  # type: ignore[attr-defined]
    pump(10, lambda: port.flow is not None and port.flow.view.screen is Screen.SHOW_CODE
         and widget.code.opacity == 1)  # type: ignore[attr-defined]
    pump(0.3)
    Window.screenshot(str(Path(out) / "payment-code.png"))
    result["message"] = widget.message.text  # type: ignore[attr-defined]
    result["amount"] = widget.amount.text  # type: ignore[attr-defined]
    record = requests.get(f"{url}/api/v1/tickets/{ticket}/payments", timeout=5,
                          headers={"Authorization": f"Bearer {token}"}).json()
    requests.post(f"{provider}/_control/payments/{record['payments'][-1]['provider_id']}/scan",
                  timeout=5).raise_for_status()
    pump(15, lambda: "paid" in result)
    Window.screenshot(str(Path(out) / "payment-done.png"))
    result["final_message"] = widget.message.text  # type: ignore[attr-defined]
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
