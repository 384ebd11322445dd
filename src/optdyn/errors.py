"""Errors raised by optdyn for bad input."""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input: the message names the field and what was expected.

    Attributes:
        field: the name of the offending field (e.g. ``"lr"`` or ``"problem.covariance"``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")
