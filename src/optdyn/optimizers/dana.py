"""DANA: dimension-adapted Nesterov acceleration (Ferbach, Everett, Gidel, Paquette, Paquette,
"Dimension-adapted Momentum Outscales SGD", 2025)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import Optimizer, cast_like, check_batch_size
from optdyn.schedules import PowerDecay

__all__ = ["DANA"]


@register("optimizer", lr_momentum="schedule", damping="schedule", grad_weight="schedule")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class DANA(Optimizer):
    """DANA, a momentum method with two step sizes and a vanishing damping.

        g_k = (1/B) sum_{i=1}^B grad l(theta_k; x_i, y_i)
        y_{k+1} = (1 - damping(k)) y_k + grad_weight(k) g_k,    y_0 = 0
        theta_{k+1} = theta_k - lr(k) g_k - lr_momentum(k) y_{k+1}

    (gamma_2 = lr, gamma_3 = lr_momentum, gamma_1 = grad_weight and Delta = damping in the
    paper's notation; the gradient here is the batch mean.) The paper's two forms, on a power-law
    problem with eigenvalues j^(-2 alpha) in dimension d, take damping(k) = delta / (1 + k) and
    either a constant momentum rate of order 1/d ("DANA-constant", :meth:`constant`) or one that
    decays as (1 + k)^(-1/(2 alpha)) ("DANA-decaying", :meth:`decaying`): the momentum's memory
    grows with k, and its rate adapts to the number of modes learned by step k. Its theory is
    :mod:`optdyn.theory.laws.dana`.

    Args:
        lr: per-step rate of the plain gradient step (gamma_2).
        lr_momentum: per-step rate of the momentum step (gamma_3).
        damping: momentum damping Delta(k) in [0, 1] (values outside are clipped to it, as
            delta / (1 + k) with delta > 1 is at small k).
        grad_weight: weight of the gradient in the momentum buffer (gamma_1, default 1).
        batch_size: samples per step B.
    """

    lr: Any
    lr_momentum: Any
    damping: Any
    grad_weight: Any = 1.0
    batch_size: int = static(default=1)
    name = "DANA"
    rotation_equivariant = True
    schedule_fields = ("lr", "lr_momentum", "damping", "grad_weight")

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)

    @classmethod
    def decaying(cls, lr: float, lr_momentum: float, alpha: float, delta: float = 2.0,
                 batch_size: int = 1) -> DANA:
        """DANA-decaying: lr_momentum(k) = lr_momentum (1 + k)^(-1/(2 alpha)),
        damping(k) = delta / (1 + k)."""
        if not (isinstance(alpha, int | float) and alpha > 0):
            raise ConfigError("alpha", f"the spectrum exponent must be > 0, got {alpha!r}")
        return cls(lr=lr, lr_momentum=PowerDecay(lr_momentum, 1.0 / (2.0 * alpha), 1.0),
                   damping=PowerDecay(delta, 1.0, 1.0), batch_size=batch_size)

    @classmethod
    def constant(cls, lr: float, lr_momentum: float, d: int, delta: float = 2.0,
                 batch_size: int = 1) -> DANA:
        """DANA-constant: lr_momentum / d at every step, damping(k) = delta / (1 + k)."""
        return cls(lr=lr, lr_momentum=lr_momentum / d, damping=PowerDecay(delta, 1.0, 1.0),
                   batch_size=batch_size)

    def init(self, params: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.zeros((), jnp.int32), jnp.zeros_like(params)

    def update(self, grads, state, params):
        count, y = state
        damp = jnp.clip(cast_like(self.damping(count), grads), 0.0, 1.0)
        y = (1 - damp) * y + cast_like(self.grad_weight(count), grads) * grads
        step = cast_like(self.lr(count), grads) * grads
        return -(step + cast_like(self.lr_momentum(count), grads) * y), (count + 1, y)
