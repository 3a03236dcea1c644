"""Shared test fixtures (pcsc). Filled in by the issue that owns it."""
