"""Moved names keep working for one release: a module alias or attribute that warns once.

``alias_module(old, new)`` makes ``import old`` return the module ``new`` (the same object, so
monkeypatching either name reaches both) and emits one ``FutureWarning`` per process naming the new
path. ``moved_attribute`` does the same for a single name served by a module ``__getattr__``.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["alias_module", "moved_attribute", "warn_moved"]

_warned: set[str] = set()


def warn_moved(old: str, new: str) -> None:
    """Emit one ``FutureWarning`` per process for the name ``old``, now at ``new``."""
    if old in _warned:
        return
    _warned.add(old)
    warnings.warn(f"{old} moved to {new}; the old name will be removed in the next release",
                  FutureWarning, stacklevel=3)


def alias_module(old: str, new: str) -> ModuleType:
    """Serve module ``new`` under the name ``old`` (warns once)."""
    warn_moved(old, new)
    module = importlib.import_module(new)
    sys.modules[old] = module
    parent, _, child = old.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module


def moved_attribute(old_module: str, name: str, new_module: str) -> Any:
    """Return ``new_module.name`` for an access to ``old_module.name`` (warns once)."""
    warn_moved(f"{old_module}.{name}", f"{new_module}.{name}")
    return getattr(importlib.import_module(new_module), name)
