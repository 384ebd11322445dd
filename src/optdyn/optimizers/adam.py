"""Adam with bias correction."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import (
    Optimizer,
    cast_like,
    check_batch_size,
    check_positive,
    check_unit_interval,
)

__all__ = ["Adam"]


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma and Ba, arXiv 1412.6980, Algorithm 1), the optax.adam convention.

        m_k = b1 m_{k-1} + (1 - b1) g_k,     v_k = b2 v_{k-1} + (1 - b2) g_k^2
        theta_{k+1} = theta_k - lr(k) * (m_k / (1 - b1^(k+1))) / (sqrt(v_k / (1 - b2^(k+1))) + eps)

    At b1 = b2 = 0 and eps = 0 this is exactly signSGD (Xiao et al., arXiv 2411.12135); a
    coordinate whose moments are both 0 gets a zero step (where optax would give 0/0 = NaN).

    Args:
        lr: per-step learning rate (number, array, callable or schedule).
        b1: decay rate of the first moment, in [0, 1).
        b2: decay rate of the second moment, in [0, 1).
        eps: added to the root of the second moment.
        batch_size: samples per step B.
    """

    lr: Any
    b1: Any = 0.9
    b2: Any = 0.999
    eps: Any = 1e-8
    batch_size: int = static(default=1)
    name = "Adam"

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        check_unit_interval("b1", self.b1)
        check_unit_interval("b2", self.b2)
        check_positive("eps", self.eps, allow_zero=True)

    def init(self, params: jax.Array):
        z = jnp.zeros_like(params)
        return jnp.zeros((), jnp.int32), z, z

    def update(self, grads, state, params):
        count, m, v = state
        b1, b2 = cast_like(self.b1, grads), cast_like(self.b2, grads)
        m = b1 * m + (1 - b1) * grads
        v = b2 * v + (1 - b2) * grads * grads
        k = (count + 1).astype(grads.dtype)
        m_hat = m / (1 - b1**k)
        v_hat = v / (1 - b2**k)
        denom = jnp.sqrt(v_hat) + cast_like(self.eps, grads)
        step = jnp.where(denom > 0, m_hat / jnp.where(denom > 0, denom, 1), 0)  # 0/0 -> 0
        return -cast_like(self.lr(count), grads) * step, (count + 1, m, v)
