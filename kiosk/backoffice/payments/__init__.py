"""Payments in the back-office: one record per payment attempt of a ticket, audited state
changes, the provider webhook, status polling, and the daily reconciliation report.
See docs/payment.md."""
