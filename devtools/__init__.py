"""Dev tools of the kiosk: the demo, the scripted visits, the screenshot harness and the
in-process stand-ins. They import the product (kiosk); the product never imports them
(an import-linter contract in setup.cfg). Not installed on a kiosk.

- `demo`: `scripts/demo` — the back-office, payment stand-ins and the kiosk, together.
- `kiosk_demo`: the kiosk attached to the demo's back-office (stand-in card and printer).
- `walkthrough`: the scripted resident visits, one PNG per screen.
- `harness`: drives the Kivy app offscreen (taps, frames, screenshots) for tests and bench.
- `standins`: in-process card, printer and ticket desk for the UI tests and the bench.
"""
