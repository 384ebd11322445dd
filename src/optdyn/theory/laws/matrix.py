"""SignSGD and stochastic SignSVD on matrix least squares: the normalised-SGD template (T).

Paquette, Marshall, Benigni, Wang, Agarwala, Paquette, "Phases of Muon: When Muon Eclipses
SignSGD", arXiv 2605.09552 (its body was not available; these are the derivations of
docs/theory/muon.md section 2.2-2.4, tested in ``tests/test_theory_laws_matrix.py``). With
v_j = (1/2) rho_j and s = sqrt(2R + m sigma^2) (the residual norm per sample), both methods follow

    dv_j/dk = -2 lr(k) g_j v_j / s + (lr(k)^2 / 2) n_j,    R = sum_j lambda_j v_j,

i.e. alpha = 2 lr / s and beta = lr^2 / 2 in the integrator's notation:

* SignSVD: g_j = f_B(lambda_j), n_j = lambda_j / (lambda_j + kappa_0(B)) (K's eigenbasis);
* SignSGD: in the eigenbasis w_j of M = D^(-1/4) K D^(-1/4) (D = diag K, as in the signSGD law
  of arXiv 2411.12135), g_j = a_B sqrt(m) lambda_j(M), n_j = m q_j with the arcsine-law loads
  q_j = w_j^T D^(1/4) K_sigma D^(1/4) w_j; risk weights lambda_j(M).

Fixed point at a constant rate (docs/theory/muon.md section 2.7): with A = sum_j w_j n_j / g_j (w
the risk weights), s_inf = lr A / 4 + sqrt(lr^2 A^2 / 16 + m sigma^2) and R_inf = lr s_inf A / 4.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from optdyn._core.errors import ConfigError
from optdyn.optimizers import SignSGD, SignSVD
from optdyn.theory.laws.base import Law, Modes, ModesCache, constant_value, initial_modes, is_matrix
from optdyn.theory.laws.sign import sign_modes
from optdyn.theory.matrix_profiles import a_B, f_B, projector_loads

__all__ = ["MatrixSignSGDLaw", "SignSVDLaw"]

_SIGN_CACHE = ModesCache()
_SVD_CACHE: dict[tuple[int, int], tuple[Any, Modes]] = {}


def _check(problem: Any, where: str, name: str) -> None:
    if not is_matrix(problem):
        raise ConfigError("problem", f"the {name} template is written for matrix least squares "
                          "(optdyn.problems.MatrixRegression)")
    if problem.normalize_by_m:
        raise ConfigError("normalize_by_m", "the template is written for the unnormalised loss "
                          "(the sign methods ignore the gradient's scale; use "
                          "normalize_by_m=False)")


def _limit(modes: Modes, problem: Any, lr: Any, gain: float) -> float:
    g = constant_value(lr)
    if g is None:
        return math.nan
    ok = modes.drift > 0
    a = float(np.sum(modes.weights[ok] * modes.loads[ok] / modes.drift[ok])) / gain
    s = g * a / 4 + math.sqrt((g * a) ** 2 / 16 + problem.noise_second_moment)
    return g * s * a / 4


class _SignTemplate(Law):
    """What the two sign templates share: a(R) = gain / sqrt(2R + m sigma^2) (the per-mode
    gains sit in the drift spectrum), b = 1 (unit-size sign updates), a per-config ``gain``."""

    problem_kinds = ("matrix",)
    method_name: ClassVar[str] = ""

    @classmethod
    def gain(cls, problem: Any, opt: Any) -> float:
        """The scalar drift gain of one config."""
        return 1.0

    @classmethod
    def factors(cls, r, p):
        return p["gain"] / jnp.sqrt(jnp.maximum(2.0 * r + p["s2"], 1e-300)), 1.0

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        _check(problem, where, cls.method_name)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        return {"opt": opt, "gain": np.float64(cls.gain(problem, opt)),
                "s2": np.float64(problem.noise_second_moment)}

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        return _limit(cls.modes_for(problem, opt), problem, opt.lr, cls.gain(problem, opt))


class SignSVDLaw(_SignTemplate):
    """Stochastic SignSVD (U V^T of the mini-batch gradient) in the noise-dominated regime."""

    name = "sign_svd"
    optimizer_type = SignSVD
    method_name = "SignSVD"
    regime = ("SignSVD template (linear response, docs/theory/muon.md section 2.4): "
              "noise-dominated regime, "
              "where the residual covariance Delta^T K Delta + sigma^2 I has effective rank >> B "
              "(label noise dominates, or the risk is spread over >> B modes); it over-predicts "
              "the drift of the top modes in the signal-dominated transient; B < m")

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        super().check(problem, opt, where)
        if opt.batch_size >= problem.m:
            raise ConfigError(f"{where}.batch_size", f"the SignSVD template needs B < m (the "
                              f"residual Gram matrix close to 2R I_B); got B={opt.batch_size}, "
                              f"m={problem.m}")

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        raise ConfigError("batch_size", "SignSVD's modes depend on the batch size: use modes_for")

    @classmethod
    def modes_for(cls, problem: Any, opt: Any) -> Modes:
        key = (id(problem), int(opt.batch_size))
        hit = _SVD_CACHE.get(key)
        if hit is not None and hit[0] is problem:
            return hit[1]
        lam = problem.eigenvalues
        modes = Modes(weights=lam, drift=f_B(lam, opt.batch_size),
                      loads=projector_loads(lam, opt.batch_size),
                      v0=initial_modes(problem))
        if len(_SVD_CACHE) > 32:
            _SVD_CACHE.pop(next(iter(_SVD_CACHE)))
        _SVD_CACHE[key] = (problem, modes)
        return modes


class MatrixSignSGDLaw(_SignTemplate):
    """Entrywise SignSGD on matrix least squares, linear response (any batch size)."""

    name = "sign_sgd_matrix"
    optimizer_type = SignSGD
    method_name = "SignSGD"
    regime = ("SignSGD linear response (docs/theory/muon.md section 2.3): every coordinate "
              "noise-dominated, "
              "|corr(x_i, e_k)| sqrt(B) << 1; accurate late in training or when label noise "
              "dominates; use method='mean-field' (the exact sign law) otherwise")

    @classmethod
    def gain(cls, problem: Any, opt: Any) -> float:
        return a_B(opt.batch_size) * math.sqrt(problem.m)

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        base = _SIGN_CACHE.get(problem, sign_modes)
        return Modes(weights=base.weights, drift=base.drift, loads=problem.m * base.loads,
                     v0=base.v0)
