"""When clipping helps, and threshold schedules computed by the theory.

Marshall, Xiao, Agarwala, Paquette, "To Clip or not to Clip: the Dynamics of SGD with Gradient
Clipping in High-Dimensions", arXiv 2406.11733 (ICLR 2025). Gaussian data x ~ N(0, K), residual
r = sqrt(2R) Z - eps, residual threshold c (the per-step gradient-norm threshold divided by
sqrt(Tr K)), sigma^2 = E eps^2:

    mu_c(R)     = P(|r| <= c)                         descent reduction factor
    nu_bar_c(R) = E[min(r^2, c^2)]                    unnormalised variance factor
    nu_c(R)     = nu_bar_c(R) / (2R + sigma^2)        normalised variance factor
    CSC = mu / nu > 1     clipping widens the stable learning-rate range by mu / nu
    CCC = mu^2 / nu > 1   clipping at the compensated rate lr / mu makes progress faster

The clipped ODE dv_j/dk = -2 lr mu lambda_j v_j + lr^2 lambda_j nu_bar / (2B) run at the
compensated rate lr / mu has SGD's drift and the noise nu_bar / mu^2 = (2R + sigma^2) / CCC, so at
every risk the best threshold maximises the CCC (the max-CCC schedule, the paper's Theorem 3), and
clipping is switched off where max_c CCC <= 1 (no threshold beats SGD there). The one-parameter
heuristic of the paper sets c(t) = kappa sqrt(2 R(t) + sigma^2), also at the compensated rate.

Both schedules are feedback laws c = c(R), so the ODE stays a scalar-coefficient system: its
coefficients a(R) = mu comp, b(R) = nu_bar comp^2 (comp = 1 / mu when compensated) are tabulated
once in R and integrated by ``theory.run`` as the law of a policy object
(:class:`~optdyn.theory.laws.clip_policy.ClippingPolicy`, its law ``ClipPolicyLaw``). The risk
curve of the ODE then fixes the threshold and learning rate of every step, which are replayed
in simulation as :class:`~optdyn.schedules.PiecewiseArray` schedules of a
:class:`~optdyn.optimizers.ClippedSGD` (:func:`replay`).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy.optimize import minimize_scalar

from optdyn import theory
from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn.noise import NoiseLaw
from optdyn.optimizers import SGD, ClippedSGD
from optdyn.problems.linear_regression import LinearRegression
from optdyn.schedules import PiecewiseArray, as_schedule
from optdyn.theory.laws.clip_policy import (
    ClippingPolicy,
    Fixed,
    Heuristic,
    MaxCCC,
    Policy,
    best_threshold,
    clip_pairs,
    mu_nubar,
    policy_tables,
    ref_scale2,
)
from optdyn.theory.replay import hold, replay_grid, schedule_values

__all__ = [
    "mu", "nu", "csc", "ccc", "max_ccc", "MaxCCC", "Heuristic", "Fixed", "schedule",
    "fit_kappa", "replay", "ClippingPolicy",
]

FloatArray = npt.NDArray[np.float64]

# the gradient-norm threshold replayed where a policy switches clipping off (c = inf)
NO_CLIP = 1e30


# ----------------------------------------------------------------------------- the factors
def _finite_variance(noise: NoiseLaw, what: str) -> float:
    s2 = float(noise.second_moment)
    if not math.isfinite(s2):
        raise ConfigError("noise", f"{what} uses the normalised nu = nu_bar / (2R + E eps^2), "
                          f"and E eps^2 is infinite for {noise.to_config()['law']} noise; use "
                          "nu(..., normalized=False) (nu_bar) instead")
    return s2


def mu(noise: NoiseLaw, R: npt.ArrayLike, c: npt.ArrayLike) -> FloatArray:
    """Descent reduction factor mu_c(R) = P(|sqrt(2R) Z - eps| <= c) (arXiv 2406.11733, by Stein's
    lemma E[clip(g)] = mu grad R); vectorised over broadcast arrays R >= 0, c > 0 (inf: 1)."""
    return mu_nubar(noise, R, c)[0]


def nu(noise: NoiseLaw, R: npt.ArrayLike, c: npt.ArrayLike, normalized: bool = False
       ) -> FloatArray:
    """Variance reduction factor: nu_bar_c(R) = E[min(r^2, c^2)], or with ``normalized=True``
    nu_c(R) = nu_bar_c(R) / (2R + E eps^2) (1 unclipped; 1 where 2R + E eps^2 = 0)."""
    r, _ = clip_pairs(R, c)
    nb = mu_nubar(noise, R, c)[1]
    if not normalized:
        return nb
    den = 2.0 * r + _finite_variance(noise, "nu(normalized=True)")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, nb / np.where(den > 0, den, 1.0), 1.0)


def csc(noise: NoiseLaw, R: npt.ArrayLike, c: npt.ArrayLike) -> FloatArray:
    """Clipped-stability criterion mu_c(R) / nu_c(R) (normalised nu): > 1 where clipping widens
    the stable learning-rate range, by that factor (isotropic ODE with sigma = 0:
    dR/dt = R (-2 eta mu + eta^2 nu), stable iff eta < 2 mu / nu against SGD's eta < 2)."""
    _finite_variance(noise, "the CSC")
    m, _ = mu_nubar(noise, R, c)
    return m / nu(noise, R, c, normalized=True)


def ccc(noise: NoiseLaw, R: npt.ArrayLike, c: npt.ArrayLike) -> FloatArray:
    """Clipping-comparison criterion mu_c(R)^2 / nu_c(R) (normalised nu): > 1 where clipping at
    the compensated rate lr / mu lowers the noise term of the ODE by that factor (Theorem 3 of
    arXiv 2406.11733); <= 1 for all R, c with Gaussian noise (Theorem 4)."""
    _finite_variance(noise, "the CCC")
    m, _ = mu_nubar(noise, R, c)
    return m * m / nu(noise, R, c, normalized=True)


def max_ccc(noise: NoiseLaw, R: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(c*, CCC(c*)): the residual threshold maximising mu_c^2 / nu_c at each risk R, and the
    maximum (the max-CCC schedule of arXiv 2406.11733 clips at c* where the maximum exceeds 1).

    Found by a log grid in c (4 points per decade between 0.01 sqrt(2R) and 30 sqrt(2R + sigma^2))
    refined by golden-section search; vectorised over R."""
    s2 = _finite_variance(noise, "max_ccc")
    r = np.asarray(R, dtype=float)
    clip_pairs(r, 1.0)
    cs, ratio = best_threshold(noise, r, max(s2, 1e-300))
    with np.errstate(divide="ignore"):
        return cs, np.where(ratio > 0, (2.0 * r + s2) / np.where(ratio > 0, ratio, 1.0), np.inf)


def _validate(problem: Any, lr: Any, steps: int, batch_size: int, policy: Any) -> Any:
    if not isinstance(problem, LinearRegression):
        raise ConfigError("problem", "expected an optdyn.problems.LinearRegression")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ConfigError("steps", f"must be a positive integer, got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", f"must be a positive integer, got {batch_size!r}")
    if not isinstance(policy, MaxCCC | Heuristic | Fixed):
        raise ConfigError("policy", f"expected MaxCCC(), Heuristic(kappa) or Fixed(c), got "
                          f"{policy!r}")
    return as_schedule(lr, "lr")


def fit_kappa(problem: Any, lr: Any, steps: int, *, batch_size: int = 1,
              bounds: tuple[float, float] = (0.05, 20.0), rtol: float = 1e-6) -> float:
    """The heuristic's kappa: the value in ``bounds`` that minimises the final ODE risk of
    c(t) = kappa sqrt(2R(t) + sigma^2) at the compensated rate (a 40-point log grid, then Brent's
    method between the neighbours of the best grid point). The paper tunes kappa the same way by
    a grid search of the final ODE risk (arXiv 2406.11733, section on the heuristic). Each
    evaluation is one batched ``theory.run`` of :class:`ClippingPolicy` configs."""
    sched = _validate(problem, lr, steps, batch_size, Heuristic(1.0))
    if not 0 < bounds[0] < bounds[1]:
        raise ConfigError("bounds", f"need 0 < low < high, got {bounds!r}")
    ends = np.asarray([0, int(steps)])

    def final(kappas: list[float]) -> np.ndarray:
        pols = [ClippingPolicy(sched, Heuristic(float(k)), batch_size) for k in kappas]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a diverged kappa is just a bad one
            risk = theory.run(problem, pols, int(steps), at=ends, rtol=rtol)["risk"].values
        return np.log(np.maximum(np.nan_to_num(risk[:, -1], nan=np.inf), 1e-300))

    grid = np.geomspace(bounds[0], bounds[1], 40)
    vals = final(list(grid))
    i = int(np.argmin(vals))
    a, b = math.log(grid[max(i - 1, 0)]), math.log(grid[min(i + 1, grid.size - 1)])
    res = minimize_scalar(lambda u: float(final([math.exp(u)])[0]), bounds=(a, b),
                          method="bounded", options={"xatol": 1e-3})
    return float(math.exp(res.x)) if res.fun <= vals[i] else float(grid[i])


def schedule(
    problem: Any,
    lr: Any,
    steps: int,
    policy: Policy | None = None,
    *,
    batch_size: int = 1,
    points_per_decade: int = 10,
    rtol: float = 1e-6,
) -> xr.Dataset:
    """The ODE of clipped SGD under a threshold policy, and the per-step schedule it implies.

    Args:
        problem: a :class:`~optdyn.problems.LinearRegression` (any noise law).
        lr: the per-step learning rate (number or schedule) of the unclipped SGD it is compared
            with; compensated policies step at lr / mu(R(k)).
        steps: horizon in steps.
        policy: :class:`MaxCCC` (default), :class:`Heuristic` (kappa fitted when None) or
            :class:`Fixed`.
        batch_size: B samples per step, each clipped (per-sample clipping).
        points_per_decade: output grid, the simulation's.

    Returns:
        Dataset with ``risk`` (dim ``step``, the ODE), the policy along the curve on the same grid
        (``c`` residual threshold, ``ccc`` = mu^2/nu where sigma^2 < inf, ``mu``, ``lr_eff``), and
        the replay schedule for every step (dim ``k`` = 0..steps-1: ``threshold_per_step`` in
        gradient-norm units c sqrt(Tr K), ``NO_CLIP`` = 1e30 where the policy does not clip;
        ``lr_per_step``), from the ODE risk
        at step k (log-linear between the integrator's outputs beyond 20 000 steps). Pass it to
        :func:`replay` for the simulation.
    """
    sched = _validate(problem, lr, steps, batch_size, policy if policy is not None else MaxCCC())
    policy = policy if policy is not None else MaxCCC()
    t0 = time.perf_counter()
    kappa = None
    if isinstance(policy, Heuristic) and policy.kappa is None:
        kappa = fit_kappa(problem, sched, int(steps), batch_size=batch_size, rtol=rtol)
        policy = Heuristic(kappa)
    ckpts = checkpoint_steps(int(steps), points_per_decade)
    grid = np.union1d(ckpts, replay_grid(int(steps)))
    pol = ClippingPolicy(sched, policy, batch_size)
    th = theory.run(problem, pol, int(steps), at=grid, rtol=rtol)
    risk_all = th["risk"].values
    if bool(th["diverged"]) or not np.all(np.isfinite(risk_all)):
        raise ConfigError("lr", f"the clipped ODE under {policy.name} did not reach step {steps} "
                          "(diverged or failed)")
    k = np.arange(int(steps))
    tab = policy_tables(problem.noise, policy)
    comp = pol.compensated

    def along(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lr_ = np.log(np.clip(r, tab["r"][0], tab["r"][-1]))
        # the threshold is piecewise (argmax jumps, the fall-back switches it off): nearest node
        idx = np.clip(np.searchsorted(np.log(tab["r"]), lr_), 0, tab["r"].size - 1)
        prev = np.clip(idx - 1, 0, tab["r"].size - 1)
        pick = np.where(np.abs(np.log(tab["r"][prev]) - lr_) < np.abs(np.log(tab["r"][idx]) -
                                                                       lr_), prev, idx)
        c = tab["c"][pick]
        if isinstance(policy, Heuristic):
            c = policy.kappa * np.sqrt(2.0 * r + ref_scale2(problem.noise))
        elif isinstance(policy, Fixed):
            c = np.full(r.shape, float(policy.c))
        return c, np.asarray(mu(problem.noise, r, c))

    # the policy at the integrator's outputs (every step up to 20 000 steps), held between them
    c_g, mu_g = along(risk_all)
    c_k, mu_k = hold(grid, c_g, int(steps)), hold(grid, mu_g, int(steps))
    g_k = schedule_values(sched, k)
    lr_k = g_k / mu_k if comp else g_k
    thr_k = np.where(np.isinf(c_k), NO_CLIP, c_k * math.sqrt(problem.trace))

    at = np.searchsorted(grid, ckpts)
    ds = th.isel(step=at)
    risk, c_ck, mu_ck = risk_all[at], c_g[at], mu_g[at]
    g_ck = schedule_values(sched, ckpts)
    ds = ds.assign(c=("step", c_ck), mu=("step", mu_ck),
                   lr_eff=("step", g_ck / mu_ck if comp else g_ck))
    ds = ds.assign_coords(k=("k", k)).assign(threshold_per_step=("k", thr_k),
                                             lr_per_step=("k", lr_k))
    s2 = float(problem.noise.second_moment)
    if math.isfinite(s2):
        nbar = nu(problem.noise, risk, c_ck)
        with np.errstate(invalid="ignore", divide="ignore"):
            ds["ccc"] = ("step", np.where(np.isinf(c_ck), 1.0, mu_ck**2 * (2 * risk + s2) / nbar))
    ds["risk"].attrs.update(long_name="excess population risk (clipped ODE)")
    ds["c"].attrs.update(long_name="residual threshold c (inf: no clipping)")
    ds["threshold_per_step"].attrs.update(long_name="gradient-norm threshold c sqrt(Tr K) of "
                                          "step k+1 (inf: no clipping)")
    ds["lr_per_step"].attrs.update(long_name="learning rate of step k+1 (lr / mu if compensated)")
    ds.attrs.update(policy=policy.name,
                    kappa=float(policy.kappa) if isinstance(policy, Heuristic) else math.nan,
                    compensated=int(comp), batch_size=batch_size, label=opt_label(policy),
                    elapsed_s=time.perf_counter() - t0)
    return ds


def opt_label(policy: Policy) -> str:
    """A short label for a policy, used in figures."""
    if isinstance(policy, Heuristic):
        return f"heuristic (kappa={policy.kappa:.3g})"
    if isinstance(policy, Fixed):
        return f"fixed c={policy.c:g}" + (" (lr/mu)" if policy.compensate else "")
    return "max-CCC"


def replay_optimizer(lr: np.ndarray, threshold: np.ndarray, batch_size: int = 1) -> ClippedSGD:
    """ClippedSGD with per-step learning rate and gradient-norm threshold arrays."""
    return ClippedSGD(lr=PiecewiseArray(np.asarray(lr, dtype=float)),
                      threshold=PiecewiseArray(np.asarray(threshold, dtype=float)),
                      batch_size=int(batch_size), mode="per_sample")


def replay(ds: xr.Dataset) -> ClippedSGD:
    """The :class:`~optdyn.optimizers.ClippedSGD` that replays a :func:`schedule` result step by
    step in simulation (the same threshold and learning rate at every step)."""
    for v in ("lr_per_step", "threshold_per_step"):
        if v not in ds:
            raise ConfigError("ds", f"not a clipping.schedule result: no {v!r}")
    return replay_optimizer(ds["lr_per_step"].values, ds["threshold_per_step"].values,
                            int(ds.attrs.get("batch_size", 1)))


def unclipped(lr: Any, batch_size: int = 1) -> SGD:
    """The unclipped SGD baseline of the same learning rate (for :func:`optdyn.theory.run`)."""
    return SGD(lr=lr, batch_size=batch_size)
