"""Learning-rate and threshold schedules: functions of the step count.

A schedule maps the step count ``k`` (0 for the first update, as in optax) to a value. Every
schedule is a frozen dataclass registered as a JAX pytree whose numeric hyperparameters are
leaves, so that optimizers that differ only in their schedule values (a learning-rate sweep) can be
stacked and run under ``jax.vmap`` in one compiled computation. The same objects drive the
simulation engine and, later, the theory engine (which evaluates them at ``k = t * d / B``).

Accepted wherever a schedule is expected (see :func:`as_schedule`): a number (constant), a 1-D
array (value per step, the last value held after the end), a callable ``f(step) -> value`` written
with ``jax.numpy``, or one of the classes below.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import concrete as _concrete
from optdyn._core.pytree import pytree_dataclass as _pytree
from optdyn._core.pytree import static as _static
from optdyn._core.registry import register
from optdyn._core.spec import build

__all__ = [
    "Schedule",
    "Constant",
    "PiecewiseArray",
    "FromCallable",
    "Cosine",
    "LinearDecay",
    "WarmupStableDecay",
    "PowerDecay",
    "as_schedule",
    "schedule_from_config",
]


def _check_nonneg(field: str, value: Any) -> None:
    if not _concrete(value):
        return
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ConfigError(field, f"must be finite and >= 0, got {value!r}")


def _fraction(step: Any, start: Any, length: Any) -> jax.Array:
    """clip((step - start) / length, 0, 1): progress through a phase of ``length`` steps."""
    return jnp.clip((jnp.asarray(step) - start) / jnp.maximum(length, 1), 0.0, 1.0)


class Schedule(abc.ABC):
    """Base class: ``schedule(step)`` returns the value at step count ``step`` (0-based)."""

    name: str = "schedule"

    def __post_init__(self) -> None:
        # every numeric hyperparameter of a schedule is a value, a step count or an exponent: >= 0
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not f.metadata.get("static"):
                _check_nonneg(f.name, getattr(self, f.name))

    @abc.abstractmethod
    def __call__(self, step: jax.Array | int) -> jax.Array:
        """The value at step count ``step``."""

    def to_config(self) -> dict[str, Any]:
        """A JSON-serialisable description (``{"schedule": name, **hyperparameters}``)."""
        out: dict[str, Any] = {"schedule": self.name}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, jax.core.Tracer):
                v = "<traced>"
            elif isinstance(v, np.ndarray | jax.Array):
                v = np.asarray(v).tolist()
            elif callable(v):
                v = getattr(v, "__qualname__", repr(v))
            out[f.name] = v
        return out


@register("schedule")
@_pytree
@dataclasses.dataclass(frozen=True)
class Constant(Schedule):
    """value(k) = value."""

    value: Any
    name = "constant"

    def to_spec(self) -> Any:
        """A constant schedule's spec is its number."""
        if _concrete(self.value):
            return float(np.asarray(self.value))
        return {"schedule": "constant", "value": np.asarray(self.value).tolist()}

    def __call__(self, step: jax.Array | int) -> jax.Array:
        return jnp.asarray(self.value)


@register("schedule")
@_pytree
@dataclasses.dataclass(frozen=True)
class PiecewiseArray(Schedule):
    """value(k) = values[min(floor(k), len(values) - 1)]: one value per step, the last one held."""

    values: Any
    name = "array"

    def __post_init__(self) -> None:
        if isinstance(self.values, list | tuple):
            object.__setattr__(self, "values", np.asarray(self.values, dtype=float))
        if _concrete(self.values):
            arr = np.asarray(self.values, dtype=float)
            if arr.ndim != 1 or arr.size == 0:
                raise ConfigError("values", f"must be a non-empty 1-D array, got shape {arr.shape}")
            object.__setattr__(self, "values", arr)
        super().__post_init__()

    def __call__(self, step: jax.Array | int) -> jax.Array:
        # the theory engine evaluates schedules at continuous step counts: value of the step
        # interval [k, k + 1) that contains ``step``
        values = jnp.asarray(self.values)
        idx = jnp.floor(jnp.asarray(step)).astype(jnp.int32)
        return values[jnp.clip(idx, 0, values.shape[0] - 1)]


@_pytree
@dataclasses.dataclass(frozen=True)
class FromCallable(Schedule):
    """value(k) = fn(k) for a user function written with ``jax.numpy`` (jit-traceable)."""

    fn: Callable[[jax.Array], jax.Array] = _static()
    name = "callable"

    def __call__(self, step: jax.Array | int) -> jax.Array:
        return jnp.asarray(self.fn(jnp.asarray(step)))


@register("schedule")
@_pytree
@dataclasses.dataclass(frozen=True)
class LinearDecay(Schedule):
    """Linear decay: value(k) = peak + (final - peak) min(k, T)/T.

    Written as final + (peak - final) shape(min(k, T)/T) with shape(f) = 1 - f; other decays
    (:class:`Cosine`) bend the profile by overriding ``shape`` (shape(0) = 1, shape(1) = 0).
    """

    peak: Any
    total_steps: Any
    final: Any = 0.0
    name = "linear_decay"

    @staticmethod
    def shape(frac: jax.Array) -> jax.Array:
        """The decay profile on [0, 1]."""
        return 1.0 - frac

    def __call__(self, step: jax.Array | int) -> jax.Array:
        frac = _fraction(step, 0, self.total_steps)
        return self.final + (self.peak - self.final) * self.shape(frac)


@register("schedule")
@_pytree
@dataclasses.dataclass(frozen=True)
class Cosine(LinearDecay):
    """Cosine decay: value(k) = final + (peak - final) (1 + cos(pi min(k, T)/T)) / 2."""

    name = "cosine"

    @staticmethod
    def shape(frac: jax.Array) -> jax.Array:
        return 0.5 * (1.0 + jnp.cos(jnp.pi * frac))


@register("schedule")
@_pytree
@dataclasses.dataclass(frozen=True)
class WarmupStableDecay(Schedule):
    """Warmup-stable-decay (WSD).

    Linear warmup from 0 to ``peak`` over ``warmup_steps``, constant ``peak`` until
    ``total_steps - decay_steps``, then linear decay to ``final`` at ``total_steps``.
    """

    peak: Any
    total_steps: Any
    warmup_steps: Any = 0
    decay_steps: Any = 0
    final: Any = 0.0
    name = "wsd"

    def __call__(self, step: jax.Array | int) -> jax.Array:
        k = jnp.asarray(step, dtype=jnp.result_type(float))
        ramp = jnp.minimum(1.0, (k + 1) / jnp.maximum(self.warmup_steps, 1))
        warm = jnp.where(self.warmup_steps > 0, ramp, 1.0)
        start = self.total_steps - self.decay_steps
        decayed = self.peak + (self.final - self.peak) * _fraction(k, start, self.decay_steps)
        return jnp.where(k < start, self.peak * warm, decayed)


@register("schedule")
@_pytree
@dataclasses.dataclass(frozen=True)
class PowerDecay(Schedule):
    """Power decay: value(k) = peak / (1 + k/k0)^power."""

    peak: Any
    power: Any = 0.5
    k0: Any = 1.0
    name = "power_decay"

    def __post_init__(self) -> None:
        super().__post_init__()
        if _concrete(self.k0) and not float(self.k0) > 0:
            raise ConfigError("k0", f"must be > 0, got {self.k0!r}")

    def __call__(self, step: jax.Array | int) -> jax.Array:
        return self.peak / (1.0 + jnp.asarray(step) / self.k0) ** self.power



def as_schedule(value: Any, field: str = "lr") -> Schedule:
    """Turn a number, 1-D array, callable or Schedule into a :class:`Schedule`.

    Raises ConfigError naming ``field`` for NaN, infinite or negative values.
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, jax.Array):
        value = np.asarray(value) if not isinstance(value, jax.core.Tracer) else value
    if isinstance(value, jax.core.Tracer):
        return Constant(value)
    if isinstance(value, dict):
        return schedule_from_config(value, field)
    if callable(value):
        return FromCallable(value)
    if isinstance(value, bool) or value is None:
        raise ConfigError(field, f"expected a number, array, callable or schedule, got {value!r}")
    arr = np.asarray(value)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ConfigError(field, f"expected a number, array, callable or schedule, got {value!r}")
    arr = arr.astype(float)
    if arr.ndim == 0:
        v = float(arr)
        if not math.isfinite(v) or v < 0:
            raise ConfigError(field, f"must be finite and >= 0, got {v!r}")
        return Constant(v)
    try:
        return PiecewiseArray(arr)
    except ConfigError as e:
        raise ConfigError(field, str(e)) from None


def schedule_from_config(cfg: dict[str, Any], field: str = "lr") -> Schedule:
    """Build a schedule from ``{"schedule": "cosine", "peak": 0.1, "total_steps": 1000}``."""
    return build("schedule", cfg, field)
