"""Fixtures shared across the suite live in tests/support/; each area's own conftest.py
sits in its folder. Real services (PostgreSQL, pcscd + the stand-in card, the back-office,
the stand-in printer) are started by these fixtures and stopped when the session ends."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.backoffice",
    "tests.support.pcsc",
    "tests.support.printer",
]
