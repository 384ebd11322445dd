"""One spelling rule for optimizer names.

Every place that takes an optimizer by name (experiment files, the paper analyses, the command
line) resolves it here: a class, an instance, or a name in any of the spellings in use
(``"SignSGD"``, ``"signsgd"``, ``"sign_sgd"``, ``"sign-sgd"``) gives the same class. The match
ignores case, ``_`` and ``-``; an unknown name raises a ConfigError naming the field and the
closest valid name.
"""

from __future__ import annotations

from typing import Any

from optdyn._core.errors import ConfigError
from optdyn._core.registry import did_you_mean
from optdyn.optimizers.adam import Adam
from optdyn.optimizers.aligned import AlignedSignSGD
from optdyn.optimizers.clipped import ClippedSGD
from optdyn.optimizers.dana import DANA
from optdyn.optimizers.muon import Muon, SignSVD
from optdyn.optimizers.normalized import NormalizedSGD
from optdyn.optimizers.sgd import SGD
from optdyn.optimizers.sign import SignSGD

__all__ = ["CLASSES", "canonical", "resolve", "resolve_key"]

CLASSES: dict[str, type] = {cls.name: cls for cls in (
    SGD, SignSGD, ClippedSGD, Adam, NormalizedSGD, SignSVD, Muon, AlignedSignSGD, DANA)}


def canonical(name: str) -> str:
    """The key a name is matched on: lower case without ``_`` and ``-`` (``sign_sgd`` ->
    ``signsgd``)."""
    return str(name).lower().replace("_", "").replace("-", "")


_BY_KEY = {canonical(k): cls for k, cls in CLASSES.items()}


def resolve(spec: Any, field: str = "optimizer", among: tuple[type, ...] | None = None) -> type:
    """The optimizer class named by ``spec`` (a class, an instance or a name).

    ``among`` restricts the answer to the classes a study supports; anything else raises a
    ConfigError on ``field``.
    """
    if isinstance(spec, type):
        cls = spec
    elif isinstance(spec, str):
        cls = _BY_KEY.get(canonical(spec))
        if cls is None:
            hint = did_you_mean(canonical(spec), _BY_KEY)
            raise ConfigError(field, f"unknown optimizer {spec!r}{hint} (expected one of "
                              f"{sorted(CLASSES)}, in any case, with or without '_')")
    else:
        cls = type(spec)
    if among is not None and cls not in among:
        names = sorted(c.name for c in among)
        raise ConfigError(field, f"{getattr(cls, 'name', cls.__name__)} is not supported here "
                          f"(expected one of {names})")
    return cls


def resolve_key(spec: Any, table: dict[str, type], field: str = "optimizer") -> str:
    """The key of ``table`` (a study's or a file format's own names for the classes it
    supports) whose class ``spec`` names, by :func:`resolve`."""
    cls = resolve(spec, field, among=tuple(table.values()))
    return next(key for key, c in table.items() if c is cls)
