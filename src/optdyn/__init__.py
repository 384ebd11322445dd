"""optdyn: exact high-dimensional dynamics of stochastic optimizers.

Importing optdyn enables JAX's float64 support (theory runs in float64); simulations choose their
dtype explicitly (float32 by default). Submodules load on first use: ``import optdyn as od;
od.problems.LinearRegression`` works without importing the theory or the figures up front.
"""

import importlib

import jax

jax.config.update("jax_enable_x64", True)

from optdyn._version import __version__  # noqa: E402

_SUBMODULES = ("analysis", "cli", "config", "errors", "grid", "io", "noise", "optimizers",
               "plot", "problems", "reproduce", "rmt", "schedules", "simulate", "study", "sweep",
               "theory")

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"optdyn.{name}")
    raise AttributeError(f"module 'optdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
