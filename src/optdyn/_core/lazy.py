"""Modules loaded on first use: the one mechanism for optdyn's heavy optional imports.

``special = lazy_module("scipy.special")`` binds a module object whose code runs at the first
attribute access (``importlib.util.LazyLoader``), so ``import optdyn`` and a first theory
curve pay for scipy.integrate (0.24 s), scipy.optimize (0.22 s) or scipy.special (0.13 s) only
when they call into it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, executed on first attribute access (at once if already loaded)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
