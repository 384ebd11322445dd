"""Stochastic gradient descent with optional heavy-ball momentum."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import Optimizer, cast_like, check_batch_size, check_unit_interval

__all__ = ["SGD"]


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class SGD(Optimizer):
    """Mini-batch SGD with heavy-ball momentum (torch.optim.SGD / optax.sgd convention).

        g_k = (1/B) sum_{i=1}^B grad l(theta_k; x_i, y_i)
        b_k = momentum * b_{k-1} + g_k,    b_{-1} = 0
        theta_{k+1} = theta_k - lr(k) * b_k

    With momentum = 0 this is plain SGD, the optimizer of the homogenized-SGD theory (Paquette
    et al., "Homogenization of SGD in high dimensions", arXiv 2206.07252).

    Args:
        lr: per-step learning rate: a number, array, callable or :mod:`optdyn.schedules` object.
        batch_size: samples per step B (the gradient is their mean).
        momentum: heavy-ball coefficient in [0, 1).
    """

    lr: Any
    batch_size: int = static(default=1)
    momentum: Any = 0.0
    name = "SGD"

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        check_unit_interval("momentum", self.momentum)

    def init(self, params: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.zeros((), jnp.int32), jnp.zeros_like(params)

    def update(self, grads, state, params):
        count, buf = state
        buf = cast_like(self.momentum, grads) * buf + grads
        return -cast_like(self.lr(count), grads) * buf, (count + 1, buf)
