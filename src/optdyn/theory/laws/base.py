"""What an optimizer law supplies to the theory engine.

A law knows, for one optimizer kind on a :class:`~optdyn.problems.LinearRegression`, the mode
system of the integrator (risk weights w, drift spectrum m, noise loads n, initial modes v(0)),
the per-config parameters (the optimizer itself, whose schedules are evaluated inside the ODE, and
tabulated scalar laws) and the coefficient function ``coeff(k, R, p) -> (alpha, beta)`` of

    dv_j/dk = -alpha m_j v_j + beta n_j,    alpha = 2 lr(k) a(R),  beta = lr(k)^2 b(R) / 2.

It also gives the limit risk at a constant learning rate and the critical learning rate. A law is
keyed on the type of the object it describes: an optimizer (``SGD``) or a policy object that
fixes the optimizer's hyperparameters as feedback on the risk (a clipping-threshold policy, a
risk-driven learning rate). It names the solution methods it supports (``methods``: ``"ode"``
for the integrator, ``"exact"`` for a discrete recursion, ``"mean-field"``, ``"conjecture"`` for
a law that is not derived) and its options (``options``, with defaults, passed by
``theory.run(..., **options)``). The integrator and the driver live in
:mod:`optdyn.theory.integrator` and :mod:`optdyn.theory.engine`; adding a law is one file here.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import Any, ClassVar

import numpy as np

from optdyn._core.errors import ConfigError
from optdyn.problems.base import Problem
from optdyn.problems.spectral_measure import SpectralMeasure
from optdyn.schedules import Constant

__all__ = ["Law", "Modes", "constant_value", "ModesCache", "initial_error", "is_matrix",
           "mode_energy", "initial_modes", "multiplicity", "problem_kind",
           "require_finite_noise", "recorded_steps"]


@dataclasses.dataclass(frozen=True)
class Modes:
    """The mode system: risk R = sum_j weights_j v_j; float64 arrays of one length."""

    weights: np.ndarray
    drift: np.ndarray
    loads: np.ndarray
    v0: np.ndarray


def constant_value(schedule: Any) -> float | None:
    """The value of a constant schedule, None for a time-varying one."""
    if isinstance(schedule, Constant):
        return float(np.asarray(schedule.value))
    return None


def is_matrix(problem: Any) -> bool:
    """True for a problem with a matrix parameter (``param_shape == (d, m)``)."""
    return isinstance(problem, Problem) and len(tuple(problem.param_shape)) == 2


def initial_error(problem: Any) -> np.ndarray:
    """The initial error in K's eigenbasis: Q^T (theta0 - theta*) (d,) or Q^T (W0 - W*) (d, m)."""
    if is_matrix(problem):
        return np.asarray(problem.initial_error_modes, dtype=float)
    return np.asarray(problem.modes(problem.theta0 - problem.theta_star), dtype=float)


def mode_energy(e: np.ndarray) -> np.ndarray:
    """v_j = (1/2) e_j^2, summed over the outputs of a matrix error (rows e_j): (1/2) rho_j."""
    e = np.asarray(e, dtype=float)
    return 0.5 * (e * e if e.ndim == 1 else np.sum(e * e, axis=-1))


def problem_kind(problem: Any) -> str:
    """The kind a law covers (``problem_kinds``): "matrix" for a matrix parameter, "measure" for
    a :class:`~optdyn.problems.SpectralMeasure`, else "vector" (None: "vector")."""
    if isinstance(problem, SpectralMeasure):
        return "measure"
    return "matrix" if problem is not None and is_matrix(problem) else "vector"


def multiplicity(problem: Any) -> np.ndarray | float:
    """How many modes each entry of the mode system stands for: the atoms' counts of a
    :class:`~optdyn.problems.SpectralMeasure`, 1 otherwise (the noise loads carry it)."""
    return problem.multiplicity if isinstance(problem, SpectralMeasure) else 1.0


def initial_modes(problem: Any) -> np.ndarray:
    """v_j(0) in K's eigenbasis: (1/2) e_j^2 of the initial error (summed over matrix outputs;
    summed over an atom's modes for a spectral measure)."""
    if isinstance(problem, SpectralMeasure):
        return problem.initial_modes
    return mode_energy(initial_error(problem))


def recorded_steps(update: Any, x0: Any, w: Any, ckpts: Any, steps: Any) -> Any:
    """Run a discrete recursion ``x <- update(k, x)`` for k = 0 .. steps - 1 (inside jit) and
    record the risk sum(w * x) at the integer steps ``ckpts`` (ckpts[0] = 0): the loop of the
    laws' exact recursions."""
    import jax
    import jax.numpy as jnp

    buf = jnp.full(ckpts.shape, jnp.nan).at[0].set(jnp.sum(w * x0))

    def body(k, c):
        x, buf, ptr = c
        x = update(k, x)
        hit = ckpts[jnp.minimum(ptr, ckpts.shape[0] - 1)] == k + 1
        buf = jnp.where(hit, buf.at[ptr].set(jnp.sum(w * x)), buf)
        return x, buf, ptr + hit.astype(ptr.dtype)

    _, buf, _ = jax.lax.fori_loop(0, steps, body, (x0, buf, jnp.asarray(1)))
    return buf


def require_finite_noise(problem: Any, theory: str) -> None:
    """Raise unless E[eps^2] is finite (theories whose noise feedback is R + E[eps^2]/2)."""
    if not math.isfinite(problem.noise_second_moment):
        raise ConfigError("noise", f"{theory} contains E[eps^2], which is infinite for "
                          f"{problem.noise.to_config()['law']} noise; use ClippedSGD or "
                          "SignSGD, whose theories need no finite variance")


class ModesCache:
    """A small cache of mode systems keyed by problem identity (problems are immutable)."""

    def __init__(self) -> None:
        self._store: dict[int, tuple[Any, Modes]] = {}

    def get(self, problem: Any, build: Any) -> Modes:
        hit = self._store.get(id(problem))
        if hit is not None and hit[0] is problem:
            return hit[1]
        modes = build(problem)
        if len(self._store) > 8:
            self._store.pop(next(iter(self._store)))
        self._store[id(problem)] = (problem, modes)
        return modes


class Law(abc.ABC):
    """Base class of the optimizer laws (see the module docstring)."""

    name: ClassVar[str]
    optimizer_type: ClassVar[type]
    #: further types the law covers (e.g. several optimizers sharing one recursion)
    also_covers: ClassVar[tuple[type, ...]] = ()
    #: solution methods of the driver this law supports
    methods: ClassVar[tuple[str, ...]] = ("ode",)
    #: law options (name -> default) accepted by ``theory.run(..., **options)``
    options: ClassVar[dict[str, Any]] = {}
    #: problem kinds the law covers: "vector" (LinearRegression), "matrix" (MatrixRegression),
    #: "measure" (SpectralMeasure: atoms with multiplicities)
    problem_kinds: ClassVar[tuple[str, ...]] = ("vector",)
    #: where the law is claimed to hold (recorded in every theory result's attributes)
    regime: ClassVar[str] = ""

    @classmethod
    def rate(cls, k: Any, p: Any) -> Any:
        """The per-step learning rate lr(k) at continuous step count k: ``p["lr"]`` (a schedule
        or a number) where the law's parameters carry it, else the schedule of the optimizer in
        ``p["opt"]``. Laws whose static fields should not enter the compiled key (a policy's
        rule) pass ``"lr"`` alone."""
        lr = p["lr"] if "lr" in p else p["opt"].lr
        return lr(k) if callable(lr) else lr

    @classmethod
    def factors(cls, r: Any, p: Any) -> tuple[Any, Any]:
        """The law's scalar functions ``(a(R), b(R))`` (laws that solve only by their own
        :meth:`solve` have none)."""
        raise ConfigError("method", f"the {cls.name} law has no mode ODE")

    @classmethod
    def coeff(cls, k: Any, r: Any, p: Any) -> tuple[Any, Any]:
        """``(alpha, beta) = (2 lr(k) a(R), lr(k)^2 b(R) / 2)``, the form every law shares."""
        g = cls.rate(k, p)
        a, b = cls.factors(r, p)
        return 2.0 * g * a, 0.5 * g * g * b

    @classmethod
    @abc.abstractmethod
    def check(cls, problem: Any, opt: Any, where: str) -> None:
        """Raise ConfigError when the theory does not cover this problem/optimizer."""

    @classmethod
    def modes(cls, problem: Any) -> Modes:
        """The mode system of this law on ``problem``."""
        raise ConfigError("method", f"the {cls.name} law has no mode system")

    @classmethod
    def modes_for(cls, problem: Any, opt: Any) -> Modes:
        """The mode system for one optimizer config (laws whose modes depend on the config,
        e.g. on the batch size, override this; configs are grouped by static fields)."""
        return cls.modes(problem)

    @classmethod
    def params(cls, problem: Any, opt: Any) -> dict[str, Any]:
        """One config's parameters (a pytree; stacked across configs)."""
        raise ConfigError("method", f"the {cls.name} law has no mode ODE parameters")

    @classmethod
    def solve(cls, method: str, problem: Any, opts: list[Any], ckpts: np.ndarray,
              options: dict[str, Any], progress: bool | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """The law's own solver for a method other than the mode ODE: (risk (n, k), status (n,),
        substeps (n,), extras {name: (dims after config, array)}). ``progress`` as in
        :func:`optdyn.theory.run` (solvers that take long report through
        :mod:`optdyn._core.progress`)."""
        raise ConfigError("method", f"the {cls.name} law has no solver for method={method!r}")

    @classmethod
    def covers(cls, opt: Any, problem_kind: str, method: str | None = None) -> bool:
        """Whether this law describes ``opt`` on a problem of this kind by ``method``."""
        return (type(opt) in (cls.optimizer_type, *cls.also_covers)
                and problem_kind in cls.problem_kinds
                and (method is None or method in cls.methods))

    @classmethod
    def params_with(cls, problem: Any, opt: Any, options: dict[str, Any]) -> dict[str, Any]:
        """:meth:`params` given the law options (laws with options override this)."""
        return cls.params(problem, opt)

    @classmethod
    def regime_for(cls, opt: Any, options: dict[str, Any]) -> dict[str, str]:
        """Where the law is claimed to hold for this config, keyed by a short name (default:
        ``{name: regime}``)."""
        return {cls.name: cls.regime} if cls.regime else {}

    @classmethod
    def limits(cls, problem: Any, opt: Any, method: str) -> tuple[float, float]:
        """(limit risk, critical lr) of ``method`` (default: :meth:`limit_risk`,
        :meth:`critical_lr`; a law whose methods differ there overrides this)."""
        return cls.limit_risk(problem, opt), cls.critical_lr(problem, opt)

    @classmethod
    def limit_risk(cls, problem: Any, opt: Any) -> float:
        """Fixed point of the risk at a constant learning rate (NaN for schedules)."""
        return math.nan

    @classmethod
    def critical_lr(cls, problem: Any, opt: Any) -> float:
        """Largest constant learning rate at which the risk stays bounded (inf: none)."""
        return math.inf

    @staticmethod
    def single_sample(opt: Any, where: str, paper: str) -> None:
        """Raise unless the batch size is 1 (theories stated for one sample per step)."""
        if opt.batch_size != 1:
            raise ConfigError(f"{where}.batch_size", f"the {paper} theory is stated for one "
                              f"sample per step; got batch_size={opt.batch_size}")
