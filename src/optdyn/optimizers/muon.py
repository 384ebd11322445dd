"""Matrix optimizers built on the polar factor: stochastic SignSVD and Muon.

Both act on a matrix parameter W (d, m) with the mini-batch gradient G = (1/B) X^T E (matrix least
squares, :class:`optdyn.problems.MatrixRegression`). Polar factors come from
:mod:`optdyn.optimizers.polar`. References: Paquette, Marshall, Benigni, Wang, Agarwala, Paquette,
"Phases of Muon: When Muon Eclipses SignSGD", arXiv 2605.09552 (stochastic SignSVD); Keller Jordan,
"Muon: An optimizer for hidden layers in neural networks", blog post, 2024 (Muon, NS5); Amsel,
Persson, Musco, Gower, "The Polar Express", arXiv 2505.16932 (Polar Express coefficients).
SGD and SignSGD (:mod:`optdyn.optimizers.sgd`, :mod:`optdyn.optimizers.sign`) act entrywise and
work on matrix parameters unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import pytree_dataclass, static
from optdyn._core.registry import register
from optdyn.optimizers.base import (
    Optimizer,
    cast_like,
    check_batch_size,
    check_positive,
    check_unit_interval,
)
from optdyn.optimizers.polar import (
    LowRank,
    as_dtype,
    newton_schulz,
    ns_coefficient_table,
    polar_lowrank,
    polar_svd,
    round_to,
    shape_factor,
)

__all__ = ["SignSVD", "Muon", "CONVENTIONS"]

# momentum form, NS eps, eps mode, default NS dtype and half-precision rounding (fused: one
# rounding per multiply-add, torch's addmm; unfused: after every operation, Keller Jordan's code)
CONVENTIONS: dict[str, dict[str, Any]] = {
    "torch": {"bias_correction": False, "eps": 1e-7, "eps_mode": "clamp", "ns_dtype": "bfloat16",
              "fused": True},
    "keller": {"bias_correction": False, "eps": 1e-7, "eps_mode": "add", "ns_dtype": "bfloat16",
               "fused": False},
    "optax": {"bias_correction": True, "eps": 1e-8, "eps_mode": "add", "ns_dtype": None,
              "fused": True},
}


def _check_matrix(params: jax.Array, name: str) -> tuple[int, int]:
    if params.ndim != 2:
        raise ConfigError("params", f"{name} needs a matrix parameter (d, m), got shape "
                          f"{params.shape}")
    return int(params.shape[0]), int(params.shape[1])


def _lerp(start: jax.Array, end: jax.Array, w: jax.Array) -> jax.Array:
    """start + w (end - start), evaluated from the nearer end (end - (1 - w)(end - start) when
    w >= 1/2), the rounding of torch.lerp, so that bf16 casts downstream see the same bits."""
    diff = end - start
    return jnp.where(w < 0.5, start + w * diff, end - (1 - w) * diff)


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class SignSVD(Optimizer):
    """Stochastic SignSVD: W_{k+1} = W_k - lr(k) polar(G_k), polar(G) = U sign(S) V^T.

    G_k is the mini-batch gradient; polar keeps only its nonzero singular values, so a step moves
    W by sqrt(rank G_k) <= sqrt(min(B, d, m)) in Frobenius norm (Paquette, Marshall, Benigni, Wang,
    Agarwala, Paquette, "Phases of Muon: When Muon Eclipses SignSGD", arXiv 2605.09552;
    docs/theory/muon.md section 1.2). This is Muon's update with no momentum and an exact polar
    factor.

    Args:
        lr: per-step learning rate (number, array, callable or schedule).
        batch_size: samples per step B.
        method: ``"svd"`` (thin SVD of the dense gradient) or ``"qr"`` (the exact low-rank path
            polar(X^T E) = Q1 polar(R1 R2^T) Q2^T, O((d + m) B^2 + d m B); it needs the gradient
            in factored form, which :class:`optdyn.problems.MatrixRegression` provides to
            optimizers with ``per_sample = True``).
        rtol: singular values <= rtol * max are treated as zero (default max(d, m) * eps).
    """

    lr: Any
    batch_size: int = static(default=1)
    method: str = static(default="svd")
    rtol: Any = static(default=None)
    name = "SignSVD"

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        if self.method not in ("svd", "qr"):
            raise ConfigError("method", f"expected 'svd' or 'qr', got {self.method!r}")
        if self.rtol is not None:
            check_positive("rtol", self.rtol)

    @property
    def per_sample(self) -> bool:
        """The QR path takes the factored per-sample gradients (X, E)."""
        return self.method == "qr"

    def init(self, params: jax.Array) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def update(self, grads: jax.Array | LowRank, state: jax.Array,
               params: jax.Array) -> tuple[jax.Array, jax.Array]:
        if isinstance(grads, LowRank):
            p = polar_lowrank(grads.a, grads.c, self.rtol)
        elif self.method == "qr":
            raise ConfigError("method", "'qr' needs the gradient in factored form (X, E) from a "
                              "problem that provides it (MatrixRegression); got a dense array")
        else:
            _check_matrix(grads, "SignSVD")
            p = polar_svd(grads, self.rtol)
        return -cast_like(self.lr(state), p) * p, state + 1


@register("optimizer")
@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class Muon(Optimizer):
    """Muon: momentum, then an (approximate) polar factor (Keller Jordan, "Muon: An optimizer for
    hidden layers in neural networks", blog post, 2024).

    For a weight W (d, m) = (fan_in, fan_out) with y = W^T x, step k (0-based) with gradient G:

        convention "torch" / "keller" (torch.optim.Muon; KellerJordan/Muon ``muon_update``):
            M <- M + (1 - beta) (G - M)                 (EMA, M_{-1} = 0)
            U = G + beta (M - G)   (nesterov)   or   U = M
        convention "optax" (optax.contrib.muon; bias-corrected EMA, t = k + 1):
            M <- beta M + (1 - beta) G
            U = beta M / (1 - beta^(t+1)) + (1 - beta) G / (1 - beta^t)   (nesterov)
            or U = M / (1 - beta^t)
        O = NS_T(U) (Newton-Schulz, :func:`optdyn.optimizers.polar.newton_schulz`)
            or polar(U) (``polar="svd"``, exact)
        W <- W - lr(k) (s O + weight_decay W)

    with the shape factor s of ``lr_shape_rule`` (:func:`optdyn.optimizers.polar.shape_factor`):
    "original" sqrt(max(1, m/d)), "match_rms_adamw" 0.2 sqrt(max(d, m)), "none" 1. The decoupled
    weight decay uses the unscaled lr, as torch, Keller Jordan and optax do. The conventions differ
    in the momentum (optax's bias correction) and in the Newton-Schulz normalisation and rounding:
    torch divides by max(||U||_F, 1e-7) in bfloat16 and rounds once per fused multiply-add
    (addmm); Keller Jordan divides by ||U||_F + 1e-7 in bfloat16, rounds after every operation
    and applies s to the bfloat16 update; optax divides by ||U||_F + 1e-8 in the gradient's dtype.
    Half precision is emulated exactly (see :func:`optdyn.optimizers.polar.newton_schulz`): the
    tests reproduce torch.optim.Muon and Keller Jordan's formulas bit for bit on CPU. (Keller
    Jordan's older modded-nanogpt form M <- beta M + G, U = G + beta M is (1 - beta)^-1 times the
    EMA form: the same after the normalisation, up to eps.) With beta = 0, ``polar="svd"`` and
    ``lr_shape_rule="none"`` this is :class:`SignSVD`.

    Args:
        lr: per-step learning rate (number, array, callable or schedule).
        beta: momentum coefficient in [0, 1) (torch's ``momentum``, optax's ``beta``).
        weight_decay: decoupled weight decay (>= 0).
        batch_size: samples per step B.
        nesterov: Nesterov momentum.
        convention: "torch", "keller" or "optax" (see above).
        ns_steps: Newton-Schulz steps T.
        ns_coeffs: "keller" (3.4445, -4.7750, 2.0315), "polar_express" (Amsel et al., arXiv
            2505.16932, Algorithm 1) or an explicit (3,) / (n, 3) table.
        ns_dtype: dtype of the iteration ("bfloat16", "float32", "float64"); None: the
            convention's (bfloat16 for torch and keller, the gradient's for optax).
        lr_shape_rule: "original", "match_rms_adamw" or "none".
        polar: "newton_schulz" or "svd" (exact polar factor, no eps).
        eps: normalisation eps; None: the convention's.
    """

    lr: Any
    beta: Any = 0.95
    weight_decay: Any = 0.0
    batch_size: int = static(default=1)
    nesterov: bool = static(default=True)
    convention: str = static(default="torch")
    ns_steps: int = static(default=5)
    ns_coeffs: Any = static(default="keller")
    ns_dtype: Any = static(default=None)
    lr_shape_rule: str = static(default="original")
    polar: str = static(default="newton_schulz")
    eps: Any = static(default=None)
    name = "Muon"
    # the momentum 0.95, the Newton-Schulz steps and the convention change the numbers: shown
    label_always = ("beta", "ns_steps", "convention")

    def __post_init__(self) -> None:
        self._init_schedules()
        check_batch_size(self.batch_size)
        check_unit_interval("beta", self.beta)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        if self.convention not in CONVENTIONS:
            raise ConfigError("convention", f"expected one of {sorted(CONVENTIONS)}, got "
                              f"{self.convention!r}")
        if not isinstance(self.nesterov, bool):
            raise ConfigError("nesterov", f"must be True or False, got {self.nesterov!r}")
        if isinstance(self.ns_steps, bool) or not isinstance(self.ns_steps, int) or not (
                0 <= self.ns_steps < 100):
            raise ConfigError("ns_steps", f"must be an integer in [0, 100), got "
                              f"{self.ns_steps!r}")
        ns_coefficient_table(self.ns_coeffs, self.ns_steps)  # validates
        if not isinstance(self.ns_coeffs, str):  # hashable static metadata
            table = np.atleast_2d(np.asarray(self.ns_coeffs, dtype=float))
            object.__setattr__(self, "ns_coeffs", tuple(tuple(map(float, r)) for r in table))
        if self.ns_dtype is not None and not isinstance(self.ns_dtype, str):
            object.__setattr__(self, "ns_dtype", jnp.dtype(as_dtype(self.ns_dtype)).name)
        as_dtype(self.ns_dtype, "ns_dtype")
        shape_factor(self.lr_shape_rule, 1, 1)  # validates
        if self.polar not in ("newton_schulz", "svd"):
            raise ConfigError("polar", f"expected 'newton_schulz' or 'svd', got {self.polar!r}")
        if self.eps is not None:
            check_positive("eps", self.eps, allow_zero=True)

    def init(self, params: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.zeros((), jnp.int32), jnp.zeros_like(params)

    def _ns_dtype(self) -> Any:
        return self.ns_dtype if self.ns_dtype is not None else (
            CONVENTIONS[self.convention]["ns_dtype"])

    def _orthogonalize(self, u: jax.Array) -> jax.Array:
        if self.polar == "svd":
            return polar_svd(u)
        conv = CONVENTIONS[self.convention]
        eps = conv["eps"] if self.eps is None else float(self.eps)
        return newton_schulz(u, self.ns_steps, self.ns_coeffs, dtype=self._ns_dtype(), eps=eps,
                             eps_mode=conv["eps_mode"], fused=conv["fused"])

    def update(self, grads: jax.Array, state: tuple[jax.Array, jax.Array],
               params: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        d, m = _check_matrix(grads, "Muon")
        count, buf = state
        beta = cast_like(self.beta, grads)
        if CONVENTIONS[self.convention]["bias_correction"]:
            buf = beta * buf + (1 - beta) * grads
            t = (count + 1).astype(grads.dtype)
            if self.nesterov:
                u = beta * buf / (1 - beta ** (t + 1)) + (1 - beta) * grads / (1 - beta**t)
            else:
                u = buf / (1 - beta**t)
        else:
            buf = _lerp(buf, grads, 1 - beta)
            u = _lerp(grads, buf, beta) if self.nesterov else buf
        s = shape_factor(self.lr_shape_rule, d, m)
        so = s * self._orthogonalize(u)
        if self.convention == "keller" and self.polar == "newton_schulz":
            so = round_to(so, self._ns_dtype())  # Keller Jordan scales the bf16 update in place
        step = so + cast_like(self.weight_decay, grads) * params
        return -cast_like(self.lr(count), grads) * step, (count + 1, buf)
