"""Errors the domain raises. No I/O here: callers decide how to show them."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing or wrong.

    Carries the file, the dotted key and what is wrong, so a maintainer reading the
    message at start-up knows exactly which line to fix.
    """

    log_safe = True  # configuration, never a resident's data

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(f"{file}: {key}: {problem}")
