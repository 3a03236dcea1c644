"""Shared test fixtures (backoffice). Filled in by the issue that owns it."""
