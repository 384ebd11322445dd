"""Errors raised by optdyn for bad input, and the wording of their lists of choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["ConfigError", "expected_one_of"]


class ConfigError(ValueError):
    """Bad input: the message names the field and what was expected.

    ``str(error)`` is ``"FIELD: message"`` (what the command line prints after
    ``optdyn: error:``).

    Attributes:
        field: the name of the offending field (e.g. ``"lr"`` or ``"problem.covariance"``).
        message: the message without the field.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # the default pickling passes str(self) as the only argument, which __init__ refuses
        # (a ConfigError raised in a worker process must reach the parent intact)
        return type(self), (self.field, self.message)


def expected_one_of(choices: Iterable[Any], hint: str = "") -> str:
    """The end of a message that lists the valid choices, as one sentence.

    ``"; expected one of: a, b, c."``, or after a hint from
    :func:`optdyn._core.registry.did_you_mean` (``"; did you mean 'a'?"``) the hint followed by
    ``" Expected one of: a, b, c."``. Append it to ``"unknown key 'x'"`` and the like.
    """
    listed = ", ".join(str(c) for c in choices) or "(none)"
    if hint:
        return f"{hint} Expected one of: {listed}."
    return f"; expected one of: {listed}."


def __getattr__(name: str):
    # build_from_config lives in optdyn._core.registry (which imports this module)
    if name == "build_from_config":
        from optdyn._core.registry import build_from_config

        return build_from_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
