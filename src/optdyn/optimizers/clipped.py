"""Clipped SGD: per-sample clipping (the theory's) and per-batch clipping (the frameworks')."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import Optimizer, cast_like, check_batch_size

__all__ = ["ClippedSGD", "clip_by_norm"]

MODES = ("per_sample", "per_batch")


def clip_by_norm(g: jax.Array, c: jax.Array) -> jax.Array:
    """clip_c(g) = min(1, c / ||g||) g (Marshall et al., arXiv 2406.11733, eq. 1)."""
    norm = jnp.linalg.norm(g, axis=-1, keepdims=True)
    scale = jnp.where(norm > c, c / jnp.where(norm > 0, norm, 1), 1)
    return g * scale


@register("optimizer", threshold="schedule")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class ClippedSGD(Optimizer):
    """SGD with gradient-norm clipping at threshold c(k).

    ``mode="per_sample"`` (Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip",
    arXiv 2406.11733, eq. 1; what the high-dimensional theory analyses):

        theta_{k+1} = theta_k - lr(k) (1/B) sum_i clip_{c(k)}(g_i),  clip_c(g) = min(1, c/||g||) g

    ``mode="per_batch"`` (``torch.nn.utils.clip_grad_norm_``, ``optax.clip_by_global_norm``):

        theta_{k+1} = theta_k - lr(k) clip_{c(k)}((1/B) sum_i g_i)

    The two coincide for B = 1. ``threshold`` is in gradient-norm units; the paper's
    dimension-free residual threshold c corresponds to ``threshold = c * sqrt(Tr K)`` when
    ||K||_op = 1.

    Args:
        lr: per-step learning rate (number, array, callable or schedule).
        threshold: clipping threshold c(k) (number, array, callable or schedule).
        batch_size: samples per step B.
        mode: "per_sample" or "per_batch".
    """

    lr: Any
    threshold: Any
    batch_size: int = static(default=1)
    mode: str = static(default="per_sample")
    name = "ClippedSGD"
    # both modes clip the Euclidean norm of a whole (per-sample or mean) gradient vector
    rotation_equivariant = True
    schedule_fields = ("lr", "threshold")

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        if self.mode not in MODES:
            raise ConfigError("mode", f"expected one of {MODES}, got {self.mode!r}")

    @property
    def per_sample(self) -> bool:
        return self.mode == "per_sample"

    def init(self, params: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def update(self, grads, state, params):
        c = cast_like(self.threshold(state), grads)
        g = clip_by_norm(grads, c)
        if self.per_sample:
            g = g.mean(axis=0)
        return -cast_like(self.lr(state), grads) * g, state + 1
