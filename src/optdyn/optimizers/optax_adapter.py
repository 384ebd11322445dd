"""Bring your own optimizer: any optax GradientTransformation."""

from __future__ import annotations

import dataclasses
from typing import Any

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn._core.registry import register, register_loader
from optdyn.optimizers.base import Optimizer, check_batch_size

__all__ = ["OptaxOptimizer"]

optax = lazy_module("optax")  # 0.05 s and scipy.special: loaded when an optax spec is used


@register("optimizer", transformation="optax")
@dataclasses.dataclass(frozen=True)
class OptaxOptimizer(Optimizer):
    """Wraps an ``optax.GradientTransformation`` so the simulation engine can run it.

    The transformation receives the mean mini-batch gradient and returns updates that are added to
    the parameters (optax's convention, the same as optdyn's). It is opaque to the theory engine.
    Passing a GradientTransformation directly to :func:`optdyn.simulate.run` wraps it with
    ``batch_size=1``.

    Args:
        transformation: the optax transformation, e.g. ``optax.sgd(0.01)``.
        batch_size: samples per step B.
        label_: name used in results (default "optax").
    """

    transformation: Any
    batch_size: int = 1
    label_: str = "optax"
    name = "optax"
    schedule_fields = ()

    def __post_init__(self) -> None:
        if not isinstance(self.transformation, optax.GradientTransformation):
            raise ConfigError("transformation", f"expected an optax.GradientTransformation, "
                              f"got {type(self.transformation).__name__}")
        check_batch_size(self.batch_size)

    def init(self, params):
        return self.transformation.init(params)

    def update(self, grads, state, params):
        return self.transformation.update(grads, state, params)

    def to_config(self) -> dict[str, Any]:
        return {"optimizer": "optax", "label": self.label_, "batch_size": self.batch_size}

    def label(self) -> str:
        return self.label_

    def to_spec(self) -> dict[str, Any]:
        """Only an optimizer built from a spec (:meth:`named`, an experiment file) has one."""
        raise ConfigError("optimizer", "an OptaxOptimizer wrapping a transformation built in "
                          "Python has no spec; build it with OptaxOptimizer.named('adamw', "
                          "learning_rate=1e-3) or write { kind = \"optax\", transformation = "
                          "{ optax = \"adamw\", learning_rate = 1e-3 } }")

    @classmethod
    def named(cls, transform: str, *, batch_size: int = 1, label: str | None = None,
              **args: Any) -> OptaxOptimizer:
        """The optax transformation ``optax.<transform>(**args)``, by name (one of
        ``optax.__all__``), with a spec: ``OptaxOptimizer.named("adamw", learning_rate=1e-3)``."""
        from optdyn._core.spec import build

        table: dict[str, Any] = {"kind": "optax", "batch_size": batch_size,
                                 "transformation": {"optax": transform, **args}}
        table["label_"] = label or f"optax.{transform}"
        return build("optimizer", table, "optimizer")


def _register_optax() -> None:
    """Every public optax factory is nameable in a spec (``{ optax = "adamw", ... }``); the
    result must be a GradientTransformation (checked by OptaxOptimizer)."""
    import inspect
    import warnings

    for name in getattr(optax, "__all__", ()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn = getattr(optax, name, None)
        if caught:  # deprecated aliases stay out of the spec language
            continue
        if inspect.isfunction(fn) and name[:1].islower():
            register("optax", name)(_transformation(fn, name))


def _transformation(fn: Any, name: str) -> Any:
    import functools

    @functools.wraps(fn)
    def make(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if not isinstance(out, optax.GradientTransformation):
            raise ConfigError("optax", f"optax.{name} does not build a GradientTransformation")
        return out

    return make


register_loader("optax", _register_optax)
