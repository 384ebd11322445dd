"""Linear momentum methods on Gaussian least squares: per-mode 3 x 3 second-moment blocks.

A method whose step is linear in the mini-batch gradient g_k and one buffer y,

    y_{k+1} = a_k y_k + c_k g_k,      theta_{k+1} = theta_k - p_k g_k - q_k y_{k+1},

covers heavy-ball and Nesterov momentum in the torch and EMA conventions
(:mod:`.momentum`) and DANA (:mod:`.dana`); a law only maps its optimizer to (a, c, p, q)(k).
In K's eigenbasis (eigenvalues lambda_j) write e_j = <u_j, theta - theta*>, y_j = <u_j, y> and
g_j = lambda_j e_j + xi_j. For Gaussian inputs Isserlis' theorem gives the gradient noise of a
B-sample mean, E[xi_j xi_j' | theta] = (K e e^T K + (e^T K e + sigma^2) K)_jj' / B, so its
diagonal is (lambda_j^2 e_j^2 + lambda_j (2R + sigma^2)) / B with R = (1/2) e^T K e: the
diagonal second moments close mode by mode. With s = p + q c,

    e_j' = (1 - s lambda_j) e_j - q a y_j - s xi_j,     y_j' = c lambda_j e_j + a y_j + c xi_j,

and the halves X_j = (E e_j^2, E e_j y_j, E y_j^2) / 2 obey, exactly in expectation at any
learning rate, momentum, B and d (docs/theory/momentum.md section 2),

    X_j' = T_j X_j + l_j (R + sigma^2 / 2),     R = sum_j lambda_j X_j[0],
    T_j = [[A11^2, 2 A11 A12, A12^2], [A11 A21, A11 A22 + A12 A21, A12 A22],
           [A21^2, 2 A21 A22, A22^2]] + (lambda_j^2 / B) n n^T-row,    l_j = (lambda_j / B) n,

with A11 = 1 - s lambda_j, A12 = -q a, A21 = c lambda_j, A22 = a and n = (s^2, -s c, c^2) (the
Isserlis term adds lambda_j^2 / B n to the first column). The ODE reads the recursion's
increment as a rate, dX_j/dk = (T_j(k) - I) X_j + l_j(k) (R + sigma^2/2): it is integrated by
the block integrator (:func:`optdyn.theory.integrator.integrate_block`) and has the
recursion's fixed points. Both are a positive Volterra system (T maps covariance matrices to
covariance matrices), so at constant coefficients the risk is bounded iff every block is
stable (spectral radius of T_j below 1 for the recursion; real parts of the eigenvalues of
T_j - I below 0 for the ODE) and the kernel norm

    kappa = sum_j lambda_j [(I - T_j)^(-1) l_j]_0 < 1,   R_inf = kappa sigma^2 / (2 (1 - kappa)).

At a = 0 the recursion is SGD's exact recursion (:mod:`.sgd`).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import json
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from optdyn.schedules import Constant, Schedule
from optdyn.theory.laws.base import Law, initial_modes, recorded_steps, require_finite_noise

__all__ = ["LinearMomentumLaw", "BlockModes", "transition"]

_CRITICAL: dict[tuple, tuple[Any, float]] = {}  # (problem id, method, config) -> critical lr


@dataclasses.dataclass(frozen=True)
class BlockModes:
    """Block modes: shared data (``lam``), risk weights and the initial state, (modes, 3)."""

    data: dict[str, np.ndarray]
    weights: np.ndarray
    v0: np.ndarray


def transition(lam: Any, a: Any, c: Any, p: Any, q: Any, batch: int,
               xp: Any = jnp) -> tuple[Any, Any]:
    """(T (modes, 3, 3), l (modes, 3)) of the exact second-moment recursion (module docstring);
    ``xp`` is the array module (jax.numpy inside the engines, numpy for the limits)."""
    lam = xp.asarray(lam)
    s = p + q * c
    one = xp.ones_like(lam)
    a11, a12, a21, a22 = 1.0 - s * lam, -q * a * one, c * lam, a * one
    n = xp.stack([s * s * one, -s * c * one, c * c * one], -1)
    iss = n * (lam * lam / batch)[:, None]  # Isserlis' lambda^2 e^2 / B term: first column
    rows = [[a11 * a11 + iss[:, 0], 2 * a11 * a12, a12 * a12],
            [a11 * a21 + iss[:, 1], a11 * a22 + a12 * a21, a12 * a22],
            [a21 * a21 + iss[:, 2], 2 * a21 * a22, a22 * a22]]
    t = xp.stack([xp.stack(r, -1) for r in rows], -2)
    return t, n * (lam / batch)[:, None]


class LinearMomentumLaw(Law):
    """Base of the laws of linear momentum methods (module docstring); a subclass gives
    :meth:`coefficients`."""

    block_size: ClassVar[int] = 3
    methods = ("ode", "exact")

    @classmethod
    @abc.abstractmethod
    def coefficients(cls, k: Any, opt: Any) -> tuple[Any, Any, Any, Any]:
        """(a, c, p, q) of the optimizer at (continuous) step k."""

    @classmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        require_finite_noise(problem, f"the {cls.name} theory")

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        return {"opt": opt, "s2": np.float64(problem.noise_second_moment)}

    @classmethod
    def block_modes(cls, problem: Any) -> BlockModes:
        lam = np.asarray(problem.eigenvalues, dtype=float)
        w = np.zeros((lam.size, 3))
        w[:, 0] = lam
        v0 = np.zeros((lam.size, 3))
        v0[:, 0] = initial_modes(problem)
        return BlockModes({"lam": lam}, w, v0)

    @classmethod
    def transition_at(cls, k: Any, p: Any, data: Any) -> tuple[Any, Any]:
        """(T, l) of one config at step k."""
        a, c, pp, q = cls.coefficients(k, p["opt"])
        return transition(data["lam"], a, c, pp, q, p["opt"].batch_size)

    @classmethod
    def block(cls, k: Any, p: Any, data: Any) -> tuple[Any, Any]:
        """The ODE's drift T - I and load l (:func:`~optdyn.theory.integrator.integrate_block`)."""
        t, load = cls.transition_at(k, p, data)
        return t - jnp.eye(3), load

    @classmethod
    def feedback(cls, k: Any, r: Any, p: Any) -> Any:
        """The risk feedback R + sigma^2 / 2 of the gradient noise."""
        return r + 0.5 * p["s2"]

    # ------------------------------------------------------------- exact discrete recursion
    @classmethod
    def solve(cls, method: str, problem: Any, opts: list[Any], ckpts: np.ndarray,
              options: dict[str, Any], progress: bool | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """The exact recursion (``method="exact"``), one compiled call for the configs."""
        if method != "exact":
            return super().solve(method, problem, opts, ckpts, options, progress)
        modes = cls.block_modes(problem)
        params = jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]),
                                        *[cls.params(problem, o) for o in opts])
        fn = _exact(cls.transition_at, cls.feedback)
        risk = np.asarray(fn(params, modes.data, jnp.asarray(modes.weights),
                             jnp.asarray(modes.v0), jnp.asarray(ckpts),
                             jnp.asarray(int(ckpts[-1]))))
        n = len(opts)
        status = np.where(np.isfinite(risk[:, -1]), 0, 1)
        return risk, status, np.full(n, int(ckpts[-1])), {}

    # ------------------------------------------------------------------------------- limits
    @classmethod
    def constant_coefficients(cls, opt: Any) -> bool:
        """Whether every schedule of the optimizer is constant (limits exist)."""
        return all(isinstance(getattr(opt, f), Constant) for f in opt.schedule_fields
                   if isinstance(getattr(opt, f), Schedule))

    @classmethod
    def kernel_norm(cls, problem: Any, opt: Any, method: str) -> float:
        """kappa at the optimizer's (constant) coefficients; inf where a block is unstable."""
        lam = np.asarray(problem.eigenvalues, dtype=float)
        a, c, pp, q = (float(x) for x in cls.coefficients(0.0, opt))
        t, load = transition(lam, a, c, pp, q, opt.batch_size, xp=np)  # NumPy: no dispatch
        eig = np.linalg.eigvals(t)
        stable = (np.abs(eig).max() < 1.0 if method == "exact"
                  else (eig.real - 1.0).max() < 0.0)
        if not stable:
            return math.inf
        x = np.linalg.solve(np.eye(3) - t, load[..., None])[..., 0, 0]
        kappa = float(np.sum(lam * x))
        return kappa if kappa >= 0 else math.inf

    @classmethod
    def limits(cls, problem: Any, opt: Any, method: str) -> tuple[float, float]:
        if not cls.constant_coefficients(opt):
            return math.nan, math.nan
        kappa = cls.kernel_norm(problem, opt, method)
        s2 = problem.noise_second_moment
        limit = math.inf if kappa >= 1 else kappa * s2 / (2.0 * (1.0 - kappa))
        return limit, cls.critical(problem, opt, method)

    @classmethod
    def critical(cls, problem: Any, opt: Any, method: str) -> float:
        """The largest constant lr (the other hyperparameters fixed) at which the risk stays
        bounded: bisection on the stability test (kappa < 1 and stable blocks). It does not
        depend on lr, so a learning-rate grid bisects once (cached per problem)."""
        key = (id(problem), method, json.dumps(dataclasses.replace(opt, lr=1.0).to_config(),
                                               sort_keys=True, default=str))
        hit = _CRITICAL.get(key)
        if hit is not None and hit[0] is problem:
            return hit[1]
        value = cls._bisect(problem, opt, method)
        if len(_CRITICAL) > 64:
            _CRITICAL.pop(next(iter(_CRITICAL)))
        _CRITICAL[key] = (problem, value)
        return value

    @classmethod
    def _bisect(cls, problem: Any, opt: Any, method: str) -> float:
        def stable(lr: float) -> bool:
            return cls.kernel_norm(problem, dataclasses.replace(opt, lr=lr), method) < 1.0

        hi = 4.0 * opt.batch_size / float(problem.trace)
        lo = 0.0
        while stable(hi):
            lo, hi = hi, 2.0 * hi
            if hi > 1e12:
                return math.inf
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if stable(mid) else (lo, mid)
            if hi - lo <= 1e-13 * hi:
                break
        return lo

    @classmethod
    def critical_lr(cls, problem: Any, opt: Any) -> float:
        return cls.limits(problem, opt, "ode")[1]

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        return cls.limits(problem, opt, "ode")[0]


@functools.lru_cache(maxsize=16)
def _exact(transition_at: Any, feedback: Any) -> Any:
    @jax.jit
    def run(params, data, w, v0, ckpts, steps):
        def one(p):
            def update(k, x):
                t, load = transition_at(k * 1.0, p, data)
                r = jnp.sum(w * x)
                return jnp.einsum("jab,jb->ja", t, x) + load * feedback(k * 1.0, r, p)

            return recorded_steps(update, v0, w, ckpts, steps)

        return jax.vmap(one)(params)

    return run

