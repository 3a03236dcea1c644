"""Cashless payment hand-off: provider and terminal adapters, the kiosk's payment flow.

Pure logic (JPQR payload, states, signatures, reconciliation) is `kiosk.domain.payment`.
See docs/payment.md.
"""
