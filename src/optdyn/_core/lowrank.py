"""Low-rank matrices in factored form (the mini-batch gradient of matrix least squares)."""

from __future__ import annotations

from typing import NamedTuple

import jax

__all__ = ["LowRank"]


class LowRank(NamedTuple):
    """A matrix in factored form, ``scale * a^T c`` with ``a`` (B, d) and ``c`` (B, m).

    The mini-batch gradient of matrix least squares is (1/B) X^T E: ``a = X``, ``c = E``,
    ``scale = 1/B``; its rows are the per-sample gradients x_i e_i^T in factored form.
    """

    a: jax.Array
    c: jax.Array
    scale: jax.Array

    def dense(self) -> jax.Array:
        """The (d, m) matrix scale * a^T c."""
        return self.scale * (self.a.T @ self.c)
