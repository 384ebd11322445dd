"""signSGD: the sign of the mini-batch gradient."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import Optimizer, cast_like, check_batch_size

__all__ = ["SignSGD"]


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class SignSGD(Optimizer):
    """signSGD (Bernstein et al. 2018; Xiao et al., arXiv 2411.12135, eq. for the update).

        theta_{k+1} = theta_k - lr(k) * sign(g_k),   g_k = (1/B) sum_i grad l(theta_k; x_i, y_i)

    with sign applied element-wise (sign(0) = 0). The exact risk-curve theory of Xiao et al. is
    stated for B = 1; :mod:`optdyn.theory.laws.sign` extends it to B > 1 with B << d (the drift
    factor of the sign of a B-sample mean, docs/theory/signsgd.md section 13).

    Args:
        lr: per-step learning rate (number, array, callable or schedule).
        batch_size: samples per step B.
    """

    lr: Any
    batch_size: int = static(default=1)
    name = "SignSGD"

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)

    def init(self, params: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def update(self, grads, state, params):
        return -cast_like(self.lr(state), grads) * jnp.sign(grads), state + 1
