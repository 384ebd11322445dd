"""Stochastic gradient descent with optional heavy-ball or Nesterov momentum."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.errors import ConfigError, expected_one_of
from optdyn._core.pytree import concrete, pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import (
    Optimizer,
    cast_like,
    check_batch_size,
    check_unit_interval,
)

__all__ = ["SGD", "CONVENTIONS"]

#: momentum conventions: the weight of the gradient in the buffer
CONVENTIONS = ("torch", "ema")


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class SGD(Optimizer):
    """Mini-batch SGD with heavy-ball or Nesterov momentum.

        g_k = (1/B) sum_{i=1}^B grad l(theta_k; x_i, y_i)
        b_k = momentum * b_{k-1} + c g_k,    b_{-1} = 0,
        c = 1 (convention "torch": torch.optim.SGD, optax.sgd) or 1 - momentum ("ema")
        theta_{k+1} = theta_k - lr(k) * b_k                              (heavy ball)
        theta_{k+1} = theta_k - lr(k) * (c g_k + momentum * b_k)         (nesterov=True)

    With momentum = 0 this is plain SGD, the optimizer of the homogenized-SGD theory (Paquette
    et al., "Homogenization of SGD in high dimensions", arXiv 2206.07252); with momentum its
    theory is :mod:`optdyn.theory.laws.momentum`. In the "torch" convention a momentum m
    multiplies the step by about 1 / (1 - m); in the "ema" convention the buffer is an average
    of gradients and the step keeps the scale of lr.

    Args:
        lr: per-step learning rate: a number, array, callable or :mod:`optdyn.schedules` object.
        batch_size: samples per step B (the gradient is their mean).
        momentum: momentum coefficient in [0, 1).
        nesterov: Nesterov's look-ahead form (needs momentum > 0).
        convention: "torch" (buffer b = m b + g) or "ema" (b = m b + (1 - m) g).
    """

    lr: Any
    batch_size: int = static(default=1)
    momentum: Any = 0.0
    nesterov: bool = static(default=False)
    convention: str = static(default="torch")
    name = "SGD"
    rotation_equivariant = True  # linear in the gradients, for every momentum and convention

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        check_unit_interval("momentum", self.momentum)
        if not isinstance(self.nesterov, bool):
            raise ConfigError("nesterov", f"must be True or False, got {self.nesterov!r}")
        if self.convention not in CONVENTIONS:
            raise ConfigError("convention", f"unknown convention {self.convention!r}"
                              + expected_one_of(CONVENTIONS))
        if self.nesterov and concrete(self.momentum) and float(self.momentum) == 0:
            raise ConfigError("nesterov", "Nesterov momentum needs momentum > 0 (got "
                              "momentum = 0); set momentum or nesterov=False")

    def engine_variant(self) -> Optimizer:
        """Plain SGD without a momentum buffer when momentum is (concretely) 0 and not Nesterov:
        then b_k = 0 * b_{k-1} + c g_k = g_k exactly (c = 1 - 0 = 1 in the "ema" convention),
        so the updates are the same bit for bit while the buffer is never carried."""
        if not self.nesterov and concrete(self.momentum) and float(self.momentum) == 0.0:
            return _PlainSGD(lr=self.lr, batch_size=self.batch_size)
        return self

    def init(self, params: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.zeros((), jnp.int32), jnp.zeros_like(params)

    def update(self, grads, state, params):
        count, buf = state
        mom = cast_like(self.momentum, grads)
        g = grads if self.convention == "torch" else (1 - mom) * grads
        buf = mom * buf + g
        step = g + mom * buf if self.nesterov else buf
        return -cast_like(self.lr(count), grads) * step, (count + 1, buf)


@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class _PlainSGD(Optimizer):
    """theta_{k+1} = theta_k - lr(k) g_k with the step count as its only state: what
    :meth:`SGD.engine_variant` hands the simulation engine for SGD at momentum 0 (internal; the
    results keep the original :class:`SGD` and its labels)."""

    lr: Any
    batch_size: int = static(default=1)
    name = "SGD"
    rotation_equivariant = True

    def init(self, params: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def update(self, grads, state, params):
        return -cast_like(self.lr(state), grads) * grads, state + 1
