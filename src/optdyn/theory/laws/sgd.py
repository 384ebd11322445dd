"""SGD on streaming Gaussian least squares: the homogenized ODE and the exact recursion.

ODE (homogenized SGD; Paquette, Paquette, Adlam, Pennington, arXiv 2206.07252; in per-step time,
mean of B samples, per-step rate gamma = lr(k)), in K's eigenbasis K = sum_j lambda_j u_j u_j^T
with v_j = (1/2) <u_j, theta - theta*>^2:

    dv_j/dk = -2 gamma lambda_j v_j + (gamma^2 / B) lambda_j (R + sigma^2 / 2),
    R = sum_j lambda_j v_j,

i.e. a = 1, b = (2R + sigma^2) / B, m = n = w = lambda, sigma^2 = E[eps^2].

Exact discrete recursion for Gaussian inputs (Isserlis' theorem; Bordelon & Pehlevan 2021,
Paquette et al. "4+3 phases" arXiv 2405.15074; docs/theory/signsgd.md section 5.2 with the
mean-gradient convention), exact in expectation at any gamma, B and d:

    v_j <- [(1 - gamma lambda_j)^2 + gamma^2 lambda_j^2 / B] v_j
           + (gamma^2 / B) lambda_j (R + sigma^2 / 2)

Matrix least squares (docs/theory/muon.md section 2.1; W in R^(d x m), m outputs, x ~ N(0, K)): by
Isserlis, E[G G^T] = ((B + 1)/B) K S K + (2R_tot / B) K with S = Delta Delta^T, 2R_tot = tr(Delta^T
K Delta) + m sigma^2, so the diagonal of Q^T S Q closes exactly and the same recursion and ODE hold
for v_j = (1/2) rho_j = (1/2) ||q_j^T Delta||^2 with sigma^2 replaced by E||eps||^2 = m sigma^2.

Limit risks and critical rates at constant gamma:
    ODE:   R_inf = gamma sigma^2 Tr K / (4B - 2 gamma Tr K),  stable iff gamma < 2B / Tr K;
    exact: S = sum_j (gamma/B) lambda_j / (2 - gamma lambda_j (1 + 1/B)),
           R_inf = S sigma^2 / (2(1 - S)), stable iff S < 1 (the discrete Volterra kernel
           norm); the critical gamma solves S = 1.

On a :class:`~optdyn.problems.SpectralMeasure` (atoms of n_a modes at lambda_a) both hold for
the atoms' summed energies with the noise load n_a lambda_a in place of lambda_j, Tr K =
sum_a n_a lambda_a, and S summed with the weights n_a (docs/theory/plrf.md section 7).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn._core.lazy import lazy_module
from optdyn.optimizers import SGD
from optdyn.theory.laws.base import (
    Law,
    Modes,
    ModesCache,
    constant_value,
    initial_modes,
    is_matrix,
    multiplicity,
    recorded_steps,
    require_finite_noise,
)

optimize = lazy_module("scipy.optimize")

__all__ = ["SGDLaw"]

_CACHE = ModesCache()


def has_momentum(opt: Any) -> bool:
    """Whether an SGD config uses momentum (a momentum coefficient other than 0)."""
    return bool(np.any(np.asarray(opt.momentum) != 0))


def _sgd_modes(problem: Any) -> Modes:
    lam = np.asarray(problem.eigenvalues, dtype=float)
    return Modes(weights=lam, drift=lam, loads=lam * multiplicity(problem),
                 v0=initial_modes(problem))


class SGDLaw(Law):
    """Plain mini-batch SGD (momentum 0); see the module docstring for the formulas."""

    name = "sgd"
    optimizer_type = SGD
    problem_kinds = ("vector", "matrix", "measure")
    methods = ("ode", "exact")
    regime = ("SGD: the ODE holds for lr Tr K / B small (high dimension); the exact recursion is "
              "exact in expectation for Gaussian inputs at any lr, B and d")

    @classmethod
    def covers(cls, opt: Any, problem_kind: str, method: str | None = None) -> bool:
        """Plain SGD only: SGD with momentum is :mod:`.momentum`'s."""
        return super().covers(opt, problem_kind, method) and not has_momentum(opt)

    @classmethod
    def factors(cls, r, p):
        return 1.0, (2.0 * r + p["s2"]) / p["opt"].batch_size

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        if is_matrix(problem) and problem.normalize_by_m:
            raise ConfigError("normalize_by_m", "the SGD theory of matrix least squares is "
                              "written for the unnormalised loss; use normalize_by_m=False and "
                              "lr / m")
        require_finite_noise(problem, "SGD's risk ODE and recursion")

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        return _CACHE.get(problem, _sgd_modes)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        return {"opt": opt, "s2": np.float64(problem.noise_second_moment)}

    @classmethod
    def critical_lr(cls, problem: Any, opt: Any) -> float:
        return 2.0 * opt.batch_size / problem.trace

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        g = constant_value(opt.lr)
        if g is None:
            return math.nan
        b, tr, s2 = opt.batch_size, problem.trace, problem.noise_second_moment
        if g >= cls.critical_lr(problem, opt):
            return math.inf
        return g * s2 * tr / (4 * b - 2 * g * tr)

    @classmethod
    def limits(cls, problem: Any, opt: Any, method: str) -> tuple[float, float]:
        if method == "exact":
            return cls.exact_limit_risk(problem, opt), cls.exact_critical_lr(problem, opt)
        return cls.limit_risk(problem, opt), cls.critical_lr(problem, opt)

    @classmethod
    def solve(cls, method: str, problem: Any, opts: list[Any], ckpts: np.ndarray,
              options: dict[str, Any], progress: bool | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """The exact recursion (``method="exact"``) for configs of one structure (one compiled
        call, no progress to report)."""
        modes = cls.modes(problem)
        params = jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]),
                                        *[cls.params(problem, o) for o in opts])
        risk = np.asarray(cls.exact_curves(params, modes.weights, modes.v0, ckpts, modes.loads))
        n = len(opts)
        return risk, np.zeros(n, int), np.full(n, int(ckpts[-1])), {}

    # ------------------------------------------------------------- exact discrete recursion
    @staticmethod
    def _kernel_norm(g: float, lam: np.ndarray, b: int, mult: Any = 1.0) -> float:
        den = 2.0 - g * lam * (1.0 + 1.0 / b)
        if np.any(den <= 0):
            return math.inf
        return float(np.sum(mult * (g / b) * lam / den))

    @classmethod
    def exact_critical_lr(cls, problem: Any, opt: Any) -> float:
        """Critical constant rate of the exact recursion: S(gamma) = 1 (S increases in gamma)."""
        lam, b, n = problem.eigenvalues, opt.batch_size, multiplicity(problem)
        pole = 2.0 / (lam.max() * (1.0 + 1.0 / b))
        f = lambda g: min(cls._kernel_norm(g, lam, b, n), 1e300) - 1.0  # noqa: E731
        return float(optimize.brentq(f, 0.0, pole * (1 - 1e-15), xtol=1e-15 * pole, rtol=1e-13))

    @classmethod
    def exact_limit_risk(cls, problem: Any, opt: Any) -> float:
        g = constant_value(opt.lr)
        if g is None:
            return math.nan
        s = cls._kernel_norm(g, problem.eigenvalues, opt.batch_size, multiplicity(problem))
        if s >= 1.0:
            return math.inf
        return s * problem.noise_second_moment / (2.0 * (1.0 - s))

    @staticmethod
    def exact_curves(params: Any, lam: Any, v0: Any, ckpts: np.ndarray,
                     loads: Any = None) -> jax.Array:
        """Run the exact recursion for stacked configs; risk at the integer ``ckpts``. ``loads``
        (default ``lam``): the noise loads n_a lambda_a of atoms standing for n_a modes."""
        lam = jnp.asarray(lam)
        return _exact(params, lam, jnp.asarray(v0), jnp.asarray(ckpts), int(ckpts[-1]),
                      lam if loads is None else jnp.asarray(loads))


@jax.jit
def _exact_impl(params, lam, v0, ckpts, steps, loads):
    def one(p):
        opt, s2 = p["opt"], p["s2"]
        b = opt.batch_size

        def update(k, v):
            g = opt.lr(k)
            r = jnp.sum(lam * v)
            return ((1 - g * lam) ** 2 + g * g * lam * lam / b) * v + (g * g / b) * loads * (
                r + 0.5 * s2)

        return recorded_steps(update, v0, lam, ckpts, steps)

    return jax.vmap(one)(params)


def _exact(params, lam, v0, ckpts, steps, loads):
    return _exact_impl(params, lam, v0, ckpts, jnp.asarray(steps), loads)
