"""Bring your own optimizer: any optax GradientTransformation."""

from __future__ import annotations

import dataclasses
from typing import Any

import optax

from optdyn._core.errors import ConfigError
from optdyn.optimizers.base import Optimizer, check_batch_size

__all__ = ["OptaxOptimizer"]


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
