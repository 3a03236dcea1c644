"""Cashless payment inside the kiosk app, end to end: real touches on the real app (SDL
offscreen), the ticket issued on a real back-office process (kiosk.sync's KioskLink),
then the payment package's widget (`KioskCashless` → `PaymentFlow`) against the
back-office's payment API, which talks to the provider stand-in process (signed webhooks)
and the terminal stand-in process — started and configured as tests/payment does.

The card is the in-process stand-in here (the card through pcscd is covered by
test_integration.py); what is under test is the payment hand-off.

The payment screens are also measured as the other screens are (tests/ui/test_visits.py):
touch targets at the configured DPI, low reach, 7:1 contrast from pixels, large text
larger, and the code still scannable (dark modules on a light quiet zone) in every mode.
The screenshots in docs/screens/kiosk come from the walkthrough (scripts/kiosk_screens).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.standins import StandInCard
from kiosk.domain.payment import PaymentMethod
from kiosk.domain.session import PayMethod, Step
from kiosk.payment.flow import I18N_DOMAIN as PAY
from kiosk.ui.adapters import LinkDesk
from tests.payment.conftest import Office, OfficeApi, _office, _provider_process, _terminal_process
from tests.ui.test_visits import place, to_card, type_pin

pytestmark = [pytest.mark.kivy, pytest.mark.slow]



@pytest.fixture(scope="module")
def pay_office(tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> Iterator[Office]:
    with _provider_process() as provider, _terminal_process() as terminal:
        yield from _office(provider, terminal, tmp_path_factory.mktemp("office"), request,
                           None)


@pytest.fixture
def cashless(kiosk: Any, pay_office: Office, tmp_path: Path) -> Iterator[Any]:
    from kiosk.payment.client import PaymentClient
    from kiosk.payment.terminal import NexoTcpTerminal
    from kiosk.payment.widget import KioskCashless

    office = pay_office
    requests.post(f"{office.provider.url}/_control/reset", timeout=5).raise_for_status()
    office.terminal.control(outcome="succeed", delay_s=0.3, disconnect_then="paid")
    token = office.tokens["kiosk-kita"]
    with cashless_app(kiosk, office, tmp_path, KioskCashless(
            PaymentClient(office.url, token, timeout_s=5.0),
            NexoTcpTerminal("127.0.0.1", office.terminal.port, sale_id="kita-01",
                            timeout_s=5.0, recover_s=2.0),
            (PaymentMethod.CODE, PaymentMethod.TERMINAL, PaymentMethod.COUNTER),
            poll_seconds=0.2)):
        yield kiosk


@contextmanager
def cashless_app(kiosk: Any, office: OfficeApi, tmp_path: Path, payment: Any) -> Iterator[None]:
    """The kiosk app linked to the back-office (tickets issued there), cashless on,
    paying through `payment` (a KioskCashless); all undone afterwards."""
    from kiosk.sync import KioskLink
    from tests.sync.helpers import settings

    link = KioskLink(settings(tmp_path, office.url, token=office.tokens["kiosk-kita"],
                              issue_timeout=3.0))
    link.start()
    c = kiosk.app.controller
    c.desk = LinkDesk(link)
    before = c.session.settings
    c.session.settings = dataclasses.replace(before, cashless=True)
    kiosk.app.payment = payment
    kiosk.office = office
    try:
        yield
    finally:
        c.end_visit()
        kiosk.h.settle()
        kiosk.app.payment = None
        c.session.settings = before
        link.stop()


def pump_until(k: Any, done: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, f"timed out on {k.s.step}: {k.labels()}"
        k.h.pump()
        time.sleep(0.02)


def touch_text(k: Any, msgid: str) -> None:
    """Touch the button whose text is `msgid` in the payment catalog (a real touch)."""
    from kiosk.i18n import translator
    text = translator(k.s.language, PAY)(msgid)
    w = next((w for w in k.h.widgets() if getattr(w, "text", None) == text), None)
    assert w is not None, f"no {text!r} on screen: {k.labels()}"
    k.h.tap_at(*w.to_window(*w.center))


def shoot(k: Any, tmp_path: Path, name: str) -> None:
    path = k.h.screenshot(tmp_path / f"{name}.png", 0.5, colors=96)
    assert path.stat().st_size > 5000


def to_cashless(k: Any, method: PayMethod = PayMethod.CODE) -> int:
    """A card visit for 住民票の写し (1 copy, 300 yen) up to the payment widget, the
    method chosen ONCE on the kiosk's payment screen (issue #17)."""
    to_card(k)
    place(k, StandInCard())
    type_pin(k, "1234")
    k.tap("confirm")
    assert k.s.step is Step.PAYMENT
    k.tap("choose_payment", method)
    assert k.s.step is Step.CASHLESS, k.s.notice
    t = k.s.ticket
    assert t is not None and not t.offline and t.printed  # issued (and printed) first
    assert t.reference and t.reference.startswith("ticket:")
    pump_until(k, lambda: k.app.payment.flow is not None)
    return int(t.reference.removeprefix("ticket:"))


def show_code(k: Any) -> Any:
    """The QR code chosen on the payment screen shows at once: no second choice."""
    from kiosk.i18n import translator
    from kiosk.payment.flow import CHOOSE, METHOD_LABELS, Screen
    flow = k.app.payment.flow
    pump_until(k, lambda: flow.view.screen is Screen.SHOW_CODE)
    k.h.pump(3)
    pay = translator(k.s.language, PAY)
    shown = set(k.labels())
    assert pay(CHOOSE) not in shown and not any(pay(t) in shown for t in METHOD_LABELS.values())
    return flow


def record(k: Any, ticket_id: int) -> dict[str, Any]:
    return k.office.payments_of(ticket_id)


def provider_state(k: Any, provider_id: str) -> str:
    p = k.office.provider
    r = requests.get(f"{p.url}/v1/payments/{provider_id}", timeout=5,
                     headers={"Authorization": f"Bearer {p.api_key}"})
    r.raise_for_status()
    return str(r.json()["status"])


def ticket_text(k: Any) -> str:
    return "\n".join(k.labels())


def test_code_payment_paid_at_the_kiosk(cashless: Any, tmp_path: Path) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    shoot(k, tmp_path, "17-cashless-choose")
    flow = show_code(k)
    # the back-office's amount (from the catalog), the same as the kiosk showed
    assert flow.view.amount_yen == 300 == k.s.fee()
    shoot(k, tmp_path, "18-cashless-code")
    paying = record(k, ticket_id)["payments"][-1]
    assert paying["state"] == "pending" and paying["amount_yen"] == 300
    k.office.provider.scan(paying["provider_id"])  # the resident's phone pays
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert k.s.paid
    assert "手数料のお支払いが済みました。" in ticket_text(k)
    shoot(k, tmp_path, "19-ticket-paid")
    after = record(k, ticket_id)
    assert after["paid"] is True and after["payments"][-1]["state"] == "paid"
    assert provider_state(k, paying["provider_id"]) == "completed"


def test_code_declined_the_resident_keeps_the_ticket_and_pays_at_the_counter(
        cashless: Any) -> None:
    k = cashless
    k.office.provider.behave(outcome="decline")
    ticket_id = to_cashless(k)
    number = k.s.ticket.number
    show_code(k)
    paying = record(k, ticket_id)["payments"][-1]
    k.office.provider.scan(paying["provider_id"])
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert not k.s.paid and k.s.pay_method is PayMethod.COUNTER
    assert k.s.ticket is not None and k.s.ticket.number == number  # the same ticket
    text = ticket_text(k)
    assert number in text
    assert "お支払いは完了していません。手数料は窓口でお支払いください。" in text
    after = record(k, ticket_id)
    assert after["paid"] is False and after["payments"][-1]["state"] == "failed"


def test_resident_cancels_the_code(cashless: Any) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    show_code(k)
    paying = record(k, ticket_id)["payments"][-1]
    touch_text(k, "とりけす")
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert not k.s.paid
    assert "手数料は窓口でお支払いください。" in ticket_text(k)
    after = record(k, ticket_id)
    assert after["payments"][-1]["state"] == "canceled"
    assert provider_state(k, paying["provider_id"]) == "canceled"


def test_terminal_payment_paid(cashless: Any) -> None:
    k = cashless
    ticket_id = to_cashless(k, PayMethod.TERMINAL)
    pump_until(k, lambda: k.s.step is Step.TICKET)
    assert k.s.paid
    after = record(k, ticket_id)
    assert after["paid"] is True and after["payments"][-1]["method"] == "terminal"
    journal = k.office.terminal.journal()
    assert journal and journal[-1]["amount"] == 300 and journal[-1]["status"] == "Success"


def test_timeout_while_the_code_is_shown_cancels_it_the_ticket_stands(cashless: Any) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    show_code(k)
    paying = record(k, ticket_id)["payments"][-1]
    k.clock.offset += k.s.settings.idle_timeout_s + 1  # the resident walked away
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.WELCOME and k.s.ticket is None  # wiped
    pump_until(k, lambda: record(k, ticket_id)["payments"][-1]["state"] == "canceled")
    assert provider_state(k, paying["provider_id"]) == "canceled"
    tickets = k.office.session("staff").get(f"{k.office.url}/api/v1/tickets/{ticket_id}",
                                            timeout=5)
    assert tickets.status_code == 200  # the ticket stands; the counter takes the fee
    end = time.monotonic() + 2.5  # the widget's late "not paid" (after its 2 s linger)
    while time.monotonic() < end:  # must not disturb the next visit
        k.h.pump()
        time.sleep(0.02)
    assert k.s.step is Step.WELCOME


# --- the payment screens in every mode ------------------------------------------------

def payment_widget(k: Any) -> Any:
    host = k.app.screen(Step.CASHLESS).ids.host
    assert host.children, "no payment widget on the cashless screen"
    return host.children[0]


def payment_buttons(k: Any) -> list[Any]:
    from kiosk.payment.widget import PaymentButton
    return [b for b in payment_widget(k).buttons.children if isinstance(b, PaymentButton)]


def window_box(k: Any, w: Any, inset: int = 4) -> tuple[int, int, int, int]:
    """A widget's rectangle in screenshot pixels (top-left origin), `inset` inside."""
    x0, y0 = w.to_window(w.x, w.y)
    h = k.h.window.height
    return (int(x0) + inset, int(h - y0 - w.height) + inset, int(x0 + w.width) - inset,
            int(h - y0) - inset)


def text_contrast(img: Any, box: tuple[int, int, int, int]) -> float:
    """As test_visits measures buttons: the commonest colour is the face, the text is the
    commonest colour clearly different from it."""
    from kiosk.ui.theme import contrast
    colors = sorted(img.crop(box).getcolors(1 << 20), reverse=True)
    bg = colors[0][1]
    fg = next(c for _n, c in colors[1:]
              if sum(abs(a - b) for a, b in zip(c, bg, strict=True)) > 200)
    return contrast(tuple(v / 255 for v in bg), tuple(v / 255 for v in fg))


def ink_height(img: Any, box: tuple[int, int, int, int]) -> int:
    """The height in pixels of what is drawn in `box` (the glyphs), measured on screen."""
    crop = img.crop(box).convert("L")
    face = sorted(crop.getcolors(1 << 16), reverse=True)[0][1]
    ink = crop.point(lambda v: 255 if abs(v - face) > 80 else 0)
    bbox = ink.getbbox()
    assert bbox is not None, "nothing drawn"
    return int(bbox[3] - bbox[1])


def assert_code_scannable(k: Any, img: Any) -> float:
    """The QR on screen, module by module, is the payload's code: dark modules on light
    ones and the 4-module light quiet zone (a phone camera needs dark on light, in high
    contrast too). Returns the module size in pixels."""
    from kiosk.payment.qr import qr_matrix
    code = payment_widget(k).code
    assert code.opacity == 1
    matrix = qr_matrix(k.app.payment.flow.view.qr_payload)  # border included
    n = len(matrix)
    shown_w, shown_h = code.norm_image_size
    cx, cy = code.to_window(*code.center)
    left, top = cx - shown_w / 2, k.h.window.height - cy - shown_h / 2
    module = shown_w / n
    assert module >= 3, f"modules of {module:.1f} px are too small to scan"
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            px = img.getpixel((int(left + (c + 0.5) * module), int(top + (r + 0.5) * module)))
            lum = sum(px) / 3
            assert (lum < 60) if dark else (lum > 200), (r, c, px, dark)
    return module


def check_screen(k: Any, img: Any, mode: str) -> dict[str, Any]:
    """Touch targets, low reach, contrast and text size on the payment screen shown."""
    buttons = payment_buttons(k)
    assert buttons
    minimum = k.app.cfg.target_px - 0.5  # 15 mm at the configured DPI
    for b in buttons:
        assert b.width >= minimum and b.height >= minimum, (mode, b.text, b.size)
        assert b.font_name == k.app.font and b.font_size == k.app.fs, (mode, b.text)
    if mode == "low_reach":
        top = k.h.window.height * 2 / 3
        for b in buttons:
            assert b.to_window(b.x, b.top)[1] <= top + 1, (b.text, "above the reach")
    w = payment_widget(k)
    for label in (w.message, w.amount):
        assert label.font_name == k.app.font and list(label.color) == list(k.app.col["fg"])
    if mode == "high_contrast":
        for part in (*buttons, w.message, w.amount):
            ratio = text_contrast(img, window_box(k, part))
            assert ratio >= 7, (part.text, ratio)
    return {"amount_px": ink_height(img, window_box(k, w.amount, 1)),
            "button_font": buttons[0].font_size, "message_font": w.message.font_size}


RESULTS: dict[str, dict[str, Any]] = {}  # per mode, for the large-text comparison


@pytest.mark.parametrize("mode", ["default", "large_text", "high_contrast", "low_reach"])
def test_payment_screens_follow_the_kiosk_modes(cashless: Any, mode: str,
                                                tmp_path: Path) -> None:
    k = cashless
    if mode != "default":
        k.tap("toggle", mode)
    to_cashless(k)
    k.h.pump(2)
    choose = check_screen(k, k.h.pixels(), mode)
    show_code(k)  # the buttons are remade: the cancel button must follow the look too
    img = k.h.pixels()
    shown = check_screen(k, img, mode)
    module = assert_code_scannable(k, img)
    shoot(k, tmp_path, f"code-{mode}")
    RESULTS[mode] = {**choose, "module_px": module, "code_button_font": shown["button_font"]}
    if mode == "large_text":
        plain = RESULTS.get("default")
        if plain is None:
            pytest.skip("run with the default mode to compare")
        assert choose["message_font"] >= plain["message_font"] * 1.3
        assert choose["button_font"] >= plain["button_font"] * 1.3
        assert shown["button_font"] >= plain["code_button_font"] * 1.3
        assert choose["amount_px"] >= plain["amount_px"] * 1.25  # measured on screen
    touch_text(k, "とりけす")
    pump_until(k, lambda: k.s.step is Step.TICKET)


def test_large_text_switched_on_while_paying(cashless: Any) -> None:
    """The footer's 文字を大きく on the payment screen grows the payment widget too."""
    k = cashless
    to_cashless(k)
    show_code(k)
    before = payment_buttons(k)[0].font_size
    k.tap("toggle", "large_text")
    k.h.pump(2)
    assert payment_buttons(k)[0].font_size >= before * 1.3
    assert payment_widget(k).message.font_size == k.app.fs
    assert_code_scannable(k, k.h.pixels())


def test_language_switch_while_the_code_is_shown(cashless: Any) -> None:
    from kiosk.i18n import translator
    from kiosk.payment.flow import AMOUNT, CANCEL, MESSAGES, Screen
    k = cashless
    to_cashless(k)
    flow = show_code(k)
    k.tap("languages")
    k.tap("set_language", "ko")
    k.h.pump(2)
    ko = translator("ko", PAY)
    w = payment_widget(k)
    assert flow.view.screen is Screen.SHOW_CODE and w.code.opacity == 1  # same payment
    assert w.message.text == ko(MESSAGES[Screen.SHOW_CODE]) != MESSAGES[Screen.SHOW_CODE]
    assert [b.text for b in payment_buttons(k)] == [ko(CANCEL)]
    assert w.message.font_name == k.app.font == "WQY"  # Hangul needs the other font
    assert w.amount.text == ko(AMOUNT, amount="300") == "300엔"
    touch_text(k, CANCEL)
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.tap("languages")
    k.tap("set_language", "ja")


def test_offline_ticket_cannot_be_paid_here_said_in_the_kiosk_look(kiosk: Any) -> None:
    """No back-office ticket to charge against (an offline ticket): the payment port says
    "pay at the counter" in the kiosk's font, colours and large text, then the ticket."""
    from kiosk.payment.client import PaymentClient
    from kiosk.payment.flow import MESSAGES, Screen
    from kiosk.payment.widget import KioskCashless, PaymentNotice
    k = kiosk
    c = k.app.controller
    before = c.session.settings
    c.session.settings = dataclasses.replace(before, cashless=True)
    k.desk.online = False
    k.app.payment = KioskCashless(PaymentClient("http://127.0.0.1:9", "dv_unused"), None,
                                  (PaymentMethod.CODE, PaymentMethod.COUNTER))
    try:
        k.tap("toggle", "large_text")
        to_card(k)
        place(k, StandInCard())
        type_pin(k, "1234")
        k.tap("confirm")
        k.tap("choose_payment", PayMethod.CODE)
        assert k.s.step is Step.CASHLESS and k.s.ticket.offline
        notice = payment_widget(k)
        assert isinstance(notice, PaymentNotice)
        assert notice.text == MESSAGES[Screen.AT_COUNTER]
        assert notice.font_size == k.app.fs and notice.font_name == k.app.font
        assert list(notice.color) == list(k.app.col["fg"])
        pump_until(k, lambda: k.s.step is Step.TICKET, timeout=10)
        assert not k.s.paid and k.app.payment.flow is None  # nothing was charged
    finally:
        k.app.payment = None
        c.session.settings = before
