"""Task-representation-aligned SignGD (TRA-SignGD), the oracle sign method.

Li, Wang, Zhong, Lu, Wang, "Muon in Associative Memory Learning", arXiv 2602.05725, section 6
(Thm 6.3; docs/theory/memory.md section B.3): with the task representation What = Et^T W E and G =
Et^T grad L(W) E, TRA-SignGD takes sign steps in task coordinates,

    What_{t+1} = What_t - lr sign(G_t),   i.e.   W_{t+1} = W_t - lr Et sign(Et^T g_t E) E^T

for orthonormal embeddings (square E, Et with E^T E = Et^T Et = I). It needs the embeddings E,
Et (an oracle); Muon finds that basis by itself (Thm 6.3: TRA-SignGD at lr matches Muon at 2 lr).
With identity embeddings it is plain entrywise SignGD.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import Optimizer, cast_like, check_batch_size

__all__ = ["AlignedSignSGD"]


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class AlignedSignSGD(Optimizer):
    """TRA-SignGD: W <- W - lr(k) Et sign(Et^T g_k E) E^T (arXiv 2602.05725, Thm 6.3).

    Args:
        lr: per-step learning rate (number, array, callable or schedule).
        query_basis: E (d, K), the query embeddings (columns); e.g. ``problem.E``.
        answer_basis: Et (d, K), the answer embeddings; e.g. ``problem.Et``.
        batch_size: samples per step B.
    """

    lr: Any
    query_basis: Any
    answer_basis: Any
    batch_size: int = static(default=1)
    name = "AlignedSignSGD"

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        for f in ("query_basis", "answer_basis"):
            v = getattr(self, f)
            if isinstance(v, np.ndarray | list | tuple):
                a = np.asarray(v, dtype=float)
                if a.ndim != 2 or not np.all(np.isfinite(a)):
                    raise ConfigError(f, f"must be a finite (d, K) matrix, got shape {a.shape}")
                object.__setattr__(self, f, a)
        qs, as_ = np.shape(self.query_basis), np.shape(self.answer_basis)
        if qs != as_:
            raise ConfigError("answer_basis", f"has shape {as_}, query_basis has {qs}")

    @classmethod
    def for_problem(cls, lr: Any, problem: Any, batch_size: int = 1) -> AlignedSignSGD:
        """The oracle variant for a problem with embeddings ``problem.E`` and ``problem.Et``."""
        return cls(lr, problem.E, problem.Et, batch_size=batch_size)

    def init(self, params: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def update(self, grads: jax.Array, state: jax.Array,
               params: jax.Array) -> tuple[jax.Array, jax.Array]:
        e = jnp.asarray(self.query_basis, grads.dtype)
        et = jnp.asarray(self.answer_basis, grads.dtype)
        s = jnp.sign(et.T @ grads @ e)
        return -cast_like(self.lr(state), grads) * (et @ s @ e.T), state + 1

    def to_config(self) -> dict[str, Any]:
        """The learning rate and a digest of the bases (not the matrices themselves)."""
        lr = Optimizer.to_config(dataclasses.replace(self, query_basis=0.0, answer_basis=0.0))
        lr.pop("query_basis")
        lr.pop("answer_basis")
        b = np.stack([np.asarray(self.query_basis, float), np.asarray(self.answer_basis, float)])
        lr["bases_digest"] = hashlib.sha256(np.ascontiguousarray(b).tobytes()).hexdigest()[:16]
        return lr
