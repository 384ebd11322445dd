"""Helpers to make frozen dataclasses JAX pytrees (numeric hyperparameters as leaves)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np


def pytree_dataclass(cls: type) -> type:
    """Register a frozen dataclass as a pytree; fields made with :func:`static` are metadata.

    Leaves can then be stacked across instances of the same structure and vmapped over.
    """
    data, meta = [], []
    for f in dataclasses.fields(cls):
        (meta if f.metadata.get("static") else data).append(f.name)
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)


def static(**kw: Any) -> Any:
    """A dataclass field that is pytree metadata (hashable, not traced)."""
    return dataclasses.field(metadata={"static": True}, **kw)


def concrete(value: Any) -> bool:
    """True for values given by a user (numbers, NumPy arrays), False for JAX arrays or tracers.

    Pytree unflattening calls the constructor with whatever leaves JAX carries (stacked arrays,
    tracers, placeholders); validation applies only to concrete user input.
    """
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | np.number) or (
        isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.number)
    )


class Representative:
    """Wraps an object so that it takes no part in a cache key (all instances compare equal).

    A compiled function cached on a structural key (e.g. ``problem.engine_key()``) closes over
    one representative object of that key; its methods must depend on the key only, everything
    else being array arguments.
    """

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Representative)
