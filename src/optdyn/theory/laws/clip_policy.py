"""Clipped SGD whose threshold (and rate) follow a policy of the risk: a law keyed on a policy.

Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip", arXiv 2406.11733; derivation in
``docs/theory/clipping.md``. With the residual r = sqrt(2R) Z - eps and residual threshold c,
mu_c(R) = P(|r| <= c) and nu_bar_c(R) = E[min(r^2, c^2)]. A threshold policy is a feedback law
c = c(R): the max-CCC rule (c(R) = argmin_c nu_bar / mu^2, clipping off where no threshold beats
SGD), the heuristic c(R) = kappa sqrt(2R + sigma^2), or a fixed c. Compensated policies step at
lr / mu(R). The ODE keeps the scalar-coefficient form of every law,

    dv_j/dk = -2 lr a(R) lambda_j v_j + (lr^2 / (2B)) lambda_j b(R),
    a = mu comp, b = nu_bar comp^2,   comp = 1 / mu when compensated, else 1,

with a and b tabulated once in R per (noise law, policy). ``theory.run(problem,
ClippingPolicy(lr, MaxCCC()), steps)`` integrates it like any other law.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from optdyn._core.errors import ConfigError
from optdyn._core.pytree import pytree_dataclass, static
from optdyn.noise import NoiseLaw
from optdyn.problems.linear_regression import LinearRegression
from optdyn.schedules import Constant, Schedule, as_schedule
from optdyn.theory.factors import clip_factors_pairs
from optdyn.theory.laws._noise_scale import noise_scale2
from optdyn.theory.laws.base import Law, Modes
from optdyn.theory.laws.sgd import SGDLaw
from optdyn.theory.tables import log_table, table_eval

__all__ = ["ClipPolicyLaw", "ClippingPolicy", "Fixed", "Heuristic", "MaxCCC", "Policy",
           "best_threshold", "clip_pairs", "mu_nubar", "policy_tables", "ref_scale2"]

FloatArray = npt.NDArray[np.float64]


def clip_pairs(R: npt.ArrayLike, c: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    r, cc = np.broadcast_arrays(np.asarray(R, dtype=float), np.asarray(c, dtype=float))
    if not np.all(np.isfinite(r) & (r >= 0)):
        raise ConfigError("R", "the risk must be finite and >= 0")
    if not np.all(cc > 0):
        raise ConfigError("c", "the residual threshold must be > 0 (inf: no clipping)")
    return r, cc


def mu_nubar(noise: NoiseLaw, R: npt.ArrayLike, c: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(mu, nu_bar) on the broadcast of R and c."""
    r, cc = clip_pairs(R, c)
    return clip_factors_pairs(noise, r, cc)


def _log_ratio(noise: NoiseLaw, R: FloatArray, c: FloatArray) -> FloatArray:
    m, nb = clip_factors_pairs(noise, R, c)
    return np.log(np.maximum(nb, 1e-300)) - 2.0 * np.log(np.maximum(m, 1e-300))


_GOLD = (math.sqrt(5.0) - 1.0) / 2.0


def best_threshold(noise: NoiseLaw, R: FloatArray, s2: float) -> tuple[FloatArray, FloatArray]:
    """argmin over finite c > 0 of nu_bar / mu^2 at each R (vectorised): 48 log-spaced c from
    0.01 sqrt(2R) (1e-4 of the noise scale at R = 0) to 30 sqrt(2R + s2), then 40 golden-section
    steps in log c between the grid neighbours of the best point. Returns (c*, nu_bar / mu^2)."""
    r = np.asarray(R, dtype=float).reshape(-1)
    lo = np.where(r > 0, 0.01 * np.sqrt(2.0 * r), 1e-4 * math.sqrt(s2))
    lo = np.minimum(lo, 1e-2 * math.sqrt(s2))
    hi = 30.0 * np.sqrt(2.0 * r + s2)
    n = 48
    u = np.log(lo)[:, None] + np.linspace(0.0, 1.0, n) * np.log(hi / lo)[:, None]
    f = _log_ratio(noise, np.repeat(r[:, None], n, axis=1), np.exp(u))
    i = np.argmin(f, axis=1)
    rows = np.arange(r.size)
    best_u, best_f = u[rows, i], f[rows, i]
    a, b = u[rows, np.maximum(i - 1, 0)], u[rows, np.minimum(i + 1, n - 1)]
    x1, x2 = b - _GOLD * (b - a), a + _GOLD * (b - a)
    f1, f2 = _log_ratio(noise, r, np.exp(x1)), _log_ratio(noise, r, np.exp(x2))
    for _ in range(40):
        left = f1 < f2  # the minimum lies in [a, x2]
        a, b = np.where(left, a, x1), np.where(left, x2, b)
        x1, x2, f2_old, f1_old = (np.where(left, b - _GOLD * (b - a), x2),
                                  np.where(left, x1, a + _GOLD * (b - a)), f2, f1)
        new = _log_ratio(noise, r, np.exp(np.where(left, x1, x2)))
        f1, f2 = np.where(left, new, f2_old), np.where(left, f1_old, new)
    x = np.where(f1 < f2, x1, x2)
    fx = np.minimum(f1, f2)
    better = fx < best_f
    c = np.exp(np.where(better, x, best_u)).reshape(np.shape(R))
    return c, np.exp(np.where(better, fx, best_f)).reshape(np.shape(R))


# ------------------------------------------------------------------------ threshold policies
@dataclasses.dataclass(frozen=True)
class MaxCCC:
    """The optimal schedule (Theorem 3 of arXiv 2406.11733): c(R) = argmax_c CCC, clipping off
    (c = inf) where max_c CCC <= ``fallback``; learning rate lr / mu (compensated).

    For infinite-variance noise the CCC does not exist, but the quantity it ranks does: the
    threshold minimises nu_bar / mu^2, the noise term at the compensated rate, and never falls
    back (unclipped SGD has an infinite noise term)."""

    fallback: float = 1.0
    name = "max-CCC"

    def to_config(self) -> dict[str, Any]:
        return {"policy": "max_ccc", "fallback": self.fallback}


@dataclasses.dataclass(frozen=True)
class Heuristic:
    """The one-parameter heuristic of arXiv 2406.11733: c(R) = kappa sqrt(2R + sigma^2), learning
    rate lr / mu (compensated). ``kappa=None``: fitted by :func:`fit_kappa` (the kappa with the
    lowest final ODE risk). For infinite-variance noise sigma^2 is replaced by the variance of the
    Gaussian with the same density at 0."""

    kappa: float | None = None
    name = "heuristic"

    def to_config(self) -> dict[str, Any]:
        return {"policy": "heuristic", "kappa": self.kappa}


@dataclasses.dataclass(frozen=True)
class Fixed:
    """A constant residual threshold c; ``compensate=True`` runs at lr / mu(R)."""

    c: float
    compensate: bool = False
    name = "fixed"

    def to_config(self) -> dict[str, Any]:
        return {"policy": "fixed", "c": self.c, "compensate": self.compensate}


Policy = MaxCCC | Heuristic | Fixed

# feedback tables: 12 points per decade over 24 decades of R (one threshold search per point)
_PER_DECADE = 12


def ref_scale2(noise: NoiseLaw) -> float:
    s2 = float(noise.second_moment)
    return s2 if math.isfinite(s2) else noise_scale2(noise)


def _r_ref(noise: NoiseLaw) -> float:
    return max(ref_scale2(noise), 1e-300)


@functools.lru_cache(maxsize=64)
def _policy_grid(noise: NoiseLaw, policy: Policy) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The policy on the table grid in R: (R, c(R), mu(R, c(R))); c = inf where it clips nothing."""
    r_ref = _r_ref(noise)
    n = 24 * _PER_DECADE + 1
    r = r_ref * np.logspace(-12.0, 12.0, n)
    s2 = float(noise.second_moment)
    if isinstance(policy, Fixed):
        c = np.full(n, float(policy.c))
    elif isinstance(policy, Heuristic):
        if policy.kappa is None or not policy.kappa > 0:
            raise ConfigError("kappa", f"must be > 0 (or fitted with fit_kappa), got "
                              f"{policy.kappa!r}")
        c = policy.kappa * np.sqrt(2.0 * r + ref_scale2(noise))
    else:
        c, ratio = best_threshold(noise, r, ref_scale2(noise))
        if math.isfinite(s2):
            # clip only where max CCC = (2R + s2) / min(nu_bar / mu^2) beats SGD (round-off aside)
            c = np.where((2.0 * r + s2) > policy.fallback * (1.0 + 1e-9) * ratio, c, math.inf)
    m, _ = mu_nubar(noise, r, c)
    return r, c, m


@functools.lru_cache(maxsize=64)
def policy_tables(noise: NoiseLaw, policy: Policy) -> dict[str, Any]:
    """log-spline tables of the ODE coefficients a(R) = mu comp and b(R) = nu_bar comp^2."""
    r, c, m = _policy_grid(noise, policy)
    _, nb = mu_nubar(noise, r, c)
    comp = not isinstance(policy, Fixed) or policy.compensate
    a = np.ones_like(r) if comp else m
    b = nb / (m * m) if comp else nb
    if np.any(m <= 0):
        raise ConfigError("policy", "the threshold clips every sample (mu = 0) at some risk; "
                          "the compensated rate lr / mu is infinite there")
    lookup = {"r": r, "c": c, "mu": m}

    def from_grid(vals: FloatArray):
        return lambda x: np.interp(np.log(x), np.log(r), vals) if x.shape != r.shape else vals

    r_ref = _r_ref(noise)
    return {"a": log_table(from_grid(a), r_ref, per_decade=_PER_DECADE),
            "b": log_table(from_grid(b), r_ref, per_decade=_PER_DECADE), **lookup}


@pytree_dataclass
@dataclasses.dataclass(frozen=True)
class ClippingPolicy:
    """Per-sample clipped SGD at base rate ``lr`` whose residual threshold follows ``rule``
    (:class:`MaxCCC`, :class:`Heuristic` with a kappa, or :class:`Fixed`), B samples per step.

    The theory object of ``theory.run`` for threshold schedules; the simulation replays the
    thresholds and rates it implies (``optdyn.analysis.clipping.replay``)."""

    lr: Any
    rule: Any = static(default=MaxCCC())
    batch_size: int = static(default=1)
    name = "clipping_policy"

    def __post_init__(self) -> None:
        if not isinstance(self.lr, Schedule):
            object.__setattr__(self, "lr", as_schedule(self.lr, "lr"))
        if not isinstance(self.rule, MaxCCC | Heuristic | Fixed):
            raise ConfigError("policy", f"expected MaxCCC(), Heuristic(kappa) or Fixed(c), got "
                              f"{self.rule!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or (
                self.batch_size < 1):
            raise ConfigError("batch_size", f"must be a positive integer, got "
                              f"{self.batch_size!r}")

    @property
    def compensated(self) -> bool:
        """Whether the policy steps at lr / mu(R)."""
        return not isinstance(self.rule, Fixed) or self.rule.compensate

    def to_config(self) -> dict[str, Any]:
        lr = self.lr
        lr = float(np.asarray(lr.value)) if isinstance(lr, Constant) else lr.to_config()
        return {"optimizer": self.name, "lr": lr, "batch_size": self.batch_size,
                **self.rule.to_config()}

    def label(self) -> str:
        """A short label, e.g. ``max-CCC`` or ``heuristic (kappa=1.2)``."""
        r = self.rule
        if isinstance(r, Heuristic):
            return f"heuristic (kappa={r.kappa:.3g})" if r.kappa is not None else "heuristic"
        if isinstance(r, Fixed):
            return f"fixed c={r.c:g}" + (" (lr/mu)" if r.compensate else "")
        return "max-CCC"


class ClipPolicyLaw(Law):
    """The clipped ODE under a threshold policy (see the module docstring)."""

    name = "clipping_policy"
    optimizer_type = ClippingPolicy
    regime = ("clipping policies: the C-SGD ODE of arXiv 2406.11733 (high dimension, Gaussian "
              "data, lr Tr K / B small) with the threshold a feedback law of the risk")

    @classmethod
    def factors(cls, r, p):
        return table_eval(p["a"], r), table_eval(p["b"], r) / p["batch_size"]

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        if not isinstance(problem, LinearRegression):
            raise ConfigError("problem", "expected an optdyn.problems.LinearRegression")
        if isinstance(opt.rule, Heuristic) and not (opt.rule.kappa is not None
                                                    and opt.rule.kappa > 0):
            raise ConfigError("kappa", f"must be > 0 (or fitted with fit_kappa), got "
                              f"{opt.rule.kappa!r}")

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        return SGDLaw.modes(problem)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        tab = policy_tables(problem.noise, opt.rule)
        # the rule (and a heuristic's kappa) lives in the tables, not in the compiled key: a
        # kappa search reuses one compiled integrator
        return {"lr": opt.lr, "batch_size": np.float64(opt.batch_size), "a": tab["a"],
                "b": tab["b"]}
