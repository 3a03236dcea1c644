"""Shared test fixtures (printer). Filled in by the issue that owns it."""
