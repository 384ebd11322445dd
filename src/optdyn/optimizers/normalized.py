"""Normalized SGD: the mini-batch gradient divided by its Euclidean norm."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import Optimizer, cast_like, check_batch_size, check_positive

__all__ = ["NormalizedSGD"]


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class NormalizedSGD(Optimizer):
    """Normalized SGD: theta_{k+1} = theta_k - lr(k) * g_k / max(||g_k||_2, eps).

    A zero gradient gives a zero step. Same step length lr(k) every step, whatever the risk.

    Args:
        lr: per-step learning rate (the step length).
        batch_size: samples per step B (normalises the mean gradient).
        eps: floor of the norm (avoids 0/0).
    """

    lr: Any
    batch_size: int = static(default=1)
    eps: Any = 1e-30
    name = "NormalizedSGD"
    rotation_equivariant = True

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        check_positive("eps", self.eps)

    def init(self, params: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def update(self, grads, state, params):
        norm = jnp.maximum(jnp.linalg.norm(grads), cast_like(self.eps, grads))
        return -cast_like(self.lr(state), grads) * grads / norm, state + 1
