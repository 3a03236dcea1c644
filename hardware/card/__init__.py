"""The stand-in My Number card: an emulator of the 券面事項入力補助AP.

- `applet`: the card's logic (files, PIN, READ BINARY, live challenge), APDU in → APDU out.
- `profile`: a card from a TOML profile, its signature files made with our test CA.
- `vpcd`: the card as a TCP client of Debian's vsmartcard-vpcd (the real PC/SC path).
- `local`: the same card in-process behind the kiosk's CardReader interface (no pcscd).
- `rig`: a private pcscd with a vpcd reader on a free port, and cards to insert and pull
  (the test fixtures, the benchmark, ``python -m hardware.card rig``).

Run it: ``python -m hardware.card --port 35963 --profile hardware/card/profiles/yamada.toml``.
"""
