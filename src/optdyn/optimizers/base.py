"""The optimizer protocol shared by the simulation and theory engines.

An optimizer is a frozen dataclass of hyperparameters with a pure ``(init, update)`` pair in the
optax style (optax ``GradientTransformation``): ``state = opt.init(params)`` and
``updates, state = opt.update(grads, state, params)``; the engine applies ``params + updates``.
Learning rates and thresholds are :mod:`optdyn.schedules` evaluated at the step count kept in the
state (0 for the first update). Optimizers are JAX pytrees whose numeric hyperparameters are
leaves, so a list of optimizers of one kind (a learning-rate sweep) is stacked and vmapped in one
compiled computation; structural settings (batch size, clipping mode) are static metadata.

``grads`` is the mean mini-batch gradient (1/B) sum_i g_i, of the same shape as ``params``,
except for optimizers with ``per_sample = True`` which receive the per-sample gradients with a
leading batch axis (B, ...), as clipping each sample's gradient requires.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import concrete
from optdyn.schedules import Constant, Schedule, as_schedule

__all__ = ["Optimizer", "check_batch_size", "check_unit_interval", "cast_like"]


def check_batch_size(value: Any) -> None:
    """Raise ConfigError unless ``batch_size`` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("batch_size", f"must be a positive integer, got {value!r}")


def check_unit_interval(field: str, value: Any, closed_right: bool = False) -> None:
    """Raise ConfigError unless 0 <= value < 1 (or <= 1)."""
    if not concrete(value):
        return
    v = float(value)
    ok = 0.0 <= v <= 1.0 if closed_right else 0.0 <= v < 1.0
    if not ok:
        bound = "]" if closed_right else ")"
        raise ConfigError(field, f"must lie in [0, 1{bound}, got {value!r}")


def check_positive(field: str, value: Any, allow_zero: bool = False) -> None:
    """Raise ConfigError unless value is finite and > 0 (or >= 0)."""
    if not concrete(value):
        return
    v = float(value)
    if not (v == v and abs(v) != float("inf") and (v >= 0 if allow_zero else v > 0)):
        raise ConfigError(field, f"must be finite and {'>=' if allow_zero else '>'} 0, "
                          f"got {value!r}")


def cast_like(value: Any, like: jax.Array) -> jax.Array:
    """Cast a hyperparameter to the dtype of the gradients (keeps float32 runs in float32)."""
    return jnp.asarray(value, dtype=like.dtype)


class Optimizer(abc.ABC):
    """Base class of optdyn optimizers (see the module docstring for the protocol)."""

    name: str = "optimizer"
    spec_fields: dict[str, str] = {"lr": "schedule"}  # noqa: RUF012
    schedule_fields: tuple[str, ...] = ("lr",)
    label_always: tuple[str, ...] = ()
    #: whether the update commutes with every orthogonal change of coordinates of a vector
    #: parameter: for orthogonal U, gradients U g (per-sample gradients U g_i) and parameters
    #: U theta give the update U u and a state whose vectors are U times the original ones. Then
    #: a run on inputs x = U x' is, sample for sample, U times the run on x' (up to rounding), and
    #: the simulation engine may run it in the covariance's eigenbasis. True for SGD (any
    #: momentum), DANA, ClippedSGD and NormalizedSGD, which only use linear combinations and
    #: Euclidean norms of whole gradients; False for coordinate-wise methods (SignSGD, Adam)
    #: and by default (optax transformations, SignSVD and Muon on matrices).
    rotation_equivariant: ClassVar[bool] = False

    @property
    def per_sample(self) -> bool:
        """Whether ``update`` receives per-sample gradients (B, ...) instead of their mean."""
        return False

    def _init_schedules(self) -> None:
        for f in self.schedule_fields:
            object.__setattr__(self, f, as_schedule(getattr(self, f), f))

    @abc.abstractmethod
    def init(self, params: jax.Array) -> Any:
        """The optimizer state for parameters ``params``."""

    @abc.abstractmethod
    def update(self, grads: jax.Array, state: Any, params: jax.Array) -> tuple[jax.Array, Any]:
        """``(updates, new_state)``; the engine applies ``params + updates``."""

    def engine_variant(self) -> Optimizer:
        """An optimizer that the simulation engine may run instead of this one: the same updates
        bit for bit on finite iterates, possibly with less state (e.g. SGD without its momentum
        buffer at momentum 0). Results are still labelled with ``self``. Default: ``self``."""
        return self

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable hyperparameters; a constant schedule is written as its number."""
        out: dict[str, Any] = {"optimizer": self.name}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Constant) and concrete(v.value):
                v = float(v.value)
            elif isinstance(v, Schedule):
                v = v.to_config()
            elif concrete(v):
                v = v.item() if hasattr(v, "item") else v
            out[f.name] = v
        return out

    def label(self) -> str:
        """A short human-readable label, e.g. ``SGD(lr=0.1, batch_size=4)``: the fields that
        differ from their defaults, and always those of ``label_always`` (defaults a reader
        would not assume, such as Muon's momentum 0.95)."""
        cfg = self.to_config()
        cfg.pop("optimizer")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        parts = []
        for k, v in cfg.items():
            if (k in defaults and defaults[k] is not dataclasses.MISSING and v == defaults[k]
                    and k not in self.label_always):
                continue
            if isinstance(v, dict):
                v = v.get("schedule", "schedule")
            elif isinstance(v, float):
                v = f"{v:.4g}"
            parts.append(f"{k}={v}")
        return f"{self.name}({', '.join(parts)})"
