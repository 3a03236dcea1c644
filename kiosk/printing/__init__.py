"""Printing: the resident's queue ticket over ESC/POS and the pre-filled application form.

- `slip`: what a ticket says (`TicketSlip`, filled by the kiosk) and its wording.
- `render`: ESC/POS bytes for a slip, per printer model (raster text or Shift_JIS kanji).
- `device`: the printer interface, its status and the typed errors a failed print raises.
- `escpos_printer`: the adapter over python-escpos' transports (network, USB, serial).
- `config`: the `[printer]` section of config/kiosk.toml and `open_printer()`.
- `forms`: the application form as PDF and as labelled data for the counter console.
"""
