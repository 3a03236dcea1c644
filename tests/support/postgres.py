"""Shared test fixtures (postgres). Filled in by the issue that owns it."""
