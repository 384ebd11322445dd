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


def __getattr__(name: str):
    # build_from_config lives in optdyn._core.registry (which imports this module)
    if name == "build_from_config":
        from optdyn._core.registry import build_from_config

        return build_from_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
