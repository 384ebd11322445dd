"""The four effects of signSGD, as numbers along a risk curve, and risk-driven schedules.

Xiao, Marshall, Agarwala, Paquette, "Exact risk curves of signSGD in High-Dimensions: quantifying
preconditioning and noise-compression effects", arXiv 2411.12135 (docs/theory/signsgd.md sections
4 and 6). With D = diag(K), M = D^(-1/4) K D^(-1/4) = sum_j lambda_j w_j w_j^T, the signSGD ODE
(per step, rate gamma_k) is

    dv_j/dk = -2 gamma_k c(R) lambda_j v_j + (gamma_k^2 / 2) q_j,
    c(R) = 2 sqrt(2/pi) p_{eps + sqrt(2R) Z}(0),   q_j = w_j^T D^(1/4) K_sigma D^(1/4) w_j,

against SGD's dv_j/dk = -2 gamma lambda_j(K) v_j + (gamma^2 / 2) lambda_j(K) (2R + E eps^2).
The four effects:

1. effective learning rate gamma_k c(R(k)) (for Gaussian noise 2 gamma / (pi sqrt(2R + s^2)));
2. noise compression: at a matched effective rate the ratio of SGD's to signSGD's diffusion on a
   unit-diagonal K is kappa(R) = c(R)^2 (2R + E eps^2) (4/pi^2 for Gaussian noise, infinite for
   infinite variance); equivalently the effective Gaussian variance s_eff^2 defined by
   c(R) = (2/pi) / sqrt(2R + s_eff^2);
3. diagonal preconditioning: drift spectrum lambda(M) instead of lambda(K) (diagonal K: sqrt);
4. noise reshaping: loads q_j (arcsine law, no risk factor) instead of lambda_j(K)(2R + s^2).

Risk-driven schedules: :func:`constant_effective_rate` runs signSGD with
gamma(R) = gamma_0 c(R_0) / c(R), which keeps gamma c(R) constant (for Gaussian noise gamma is
proportional to sqrt(2R + s^2), the paper's proposal); :func:`sgd_at_effective_rate` gives the SGD
that steps at signSGD's effective rate gamma_k c(R_sign(k)) (the paper's matched comparison).
Both return per-step schedules that the simulation replays.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn.noise import NoiseLaw
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems.linear_regression import LinearRegression
from optdyn.schedules import PiecewiseArray
from optdyn.theory.factors import sign_drift
from optdyn.theory.laws.sign import SignSGDLaw
from optdyn.theory.laws.sign_rate import ConstantEffectiveRate, effective_rate
from optdyn.theory.replay import hold, replay_grid, schedule_values

__all__ = ["drift_factor", "compression", "effective_noise_variance", "spectra", "effects",
           "constant_effective_rate", "sgd_at_effective_rate", "replay", "matched_limits"]

FloatArray = npt.NDArray[np.float64]


def drift_factor(noise: NoiseLaw, R: npt.ArrayLike) -> FloatArray:
    """c(R) = 2 sqrt(2/pi) p_{eps + sqrt(2R) Z}(0) = (2/pi) E_eps[exp(-eps^2/(4R))] / sqrt(2R)."""
    return np.asarray(sign_drift(noise, R), dtype=float)


def compression(noise: NoiseLaw, R: npt.ArrayLike) -> FloatArray:
    """kappa(R) = c(R)^2 (2R + E eps^2): SGD's diffusion over signSGD's at a matched effective
    rate (unit-diagonal K). 4/pi^2 for Gaussian noise; inf where E eps^2 is infinite."""
    r = np.asarray(R, dtype=float)
    s2 = float(noise.second_moment)
    c = drift_factor(noise, r)
    if not math.isfinite(s2):
        return np.full(np.shape(c), math.inf)
    return c * c * (2.0 * r + s2)


def effective_noise_variance(noise: NoiseLaw, R: npt.ArrayLike) -> FloatArray:
    """s_eff^2(R) with c(R) = (2/pi) / sqrt(2R + s_eff^2): the Gaussian noise variance that gives
    the same drift factor (= s^2 for Gaussian noise; 1/(2 pi p_eps(0)^2) as R -> 0)."""
    r = np.asarray(R, dtype=float)
    return (2.0 / (math.pi * drift_factor(noise, r))) ** 2 - 2.0 * r


def _check_problem(problem: Any) -> None:
    if not isinstance(problem, LinearRegression):
        raise ConfigError("problem", "expected an optdyn.problems.LinearRegression")


def spectra(problem: Any) -> xr.Dataset:
    """The preconditioning and noise-shape effects of a problem (no dynamics needed).

    Returns a Dataset over ``mode`` (sorted by decreasing eigenvalue of each operator):
    ``lambda_K`` (K's spectrum, SGD's drift), ``lambda_M`` (M = D^(-1/4) K D^(-1/4), signSGD's
    drift), ``q`` (signSGD's noise loads on M's modes), ``sgd_load`` = lambda_K (SGD's noise shape
    up to the factor 2R + s^2), and attrs ``cond_K``, ``cond_M`` (largest / smallest eigenvalue)
    and ``sum_q`` = sum_i sqrt(K_ii).
    """
    _check_problem(problem)
    sm = SignSGDLaw.modes(problem)
    lam_k = np.sort(np.asarray(problem.eigenvalues, dtype=float))[::-1]
    order = np.argsort(sm.drift)[::-1]
    lam_m, q = np.asarray(sm.drift)[order], np.asarray(sm.loads)[order]

    def cond(x: np.ndarray) -> float:
        return float(x[0] / x[-1]) if x[-1] > 0 else math.inf

    ds = xr.Dataset({"lambda_K": ("mode", lam_k), "lambda_M": ("mode", lam_m), "q": ("mode", q),
                     "sgd_load": ("mode", lam_k)},
                    coords={"mode": np.arange(1, lam_k.size + 1)})
    ds.attrs.update(cond_K=cond(lam_k), cond_M=cond(lam_m), sum_q=float(q.sum()))
    ds["lambda_M"].attrs["long_name"] = "eigenvalues of D^(-1/4) K D^(-1/4) (signSGD's drift)"
    ds["q"].attrs["long_name"] = "signSGD noise loads q_j = w_j^T D^(1/4) K_sigma D^(1/4) w_j"
    return ds


def effects(problem: Any, optimizer: SignSGD, steps: int, *, points_per_decade: int = 10
            ) -> xr.Dataset:
    """The four effects of signSGD along its ODE risk curve.

    Variables over ``step``: ``risk`` (the ODE), ``lr_eff`` = lr(k) c(R(k)) (effective learning
    rate), ``c`` (drift factor), ``kappa`` (noise compression against SGD, inf for infinite
    variance), ``noise_var_eff`` (s_eff^2); over ``mode``: the spectra of :func:`spectra`.
    """
    from optdyn import theory

    _check_problem(problem)
    if not isinstance(optimizer, SignSGD):
        raise ConfigError("optimizer", f"expected a SignSGD, got {type(optimizer).__name__}")
    th = theory.run(problem, optimizer, steps, points_per_decade=points_per_decade)
    r = th["risk"].values
    c = drift_factor(problem.noise, r)
    g = schedule_values(optimizer.lr, th["step"].values.astype(float))
    ds = th[["risk"]].copy()
    ds["c"] = ("step", c)
    ds["lr_eff"] = ("step", g * c)
    ds["kappa"] = ("step", compression(problem.noise, r))
    ds["noise_var_eff"] = ("step", effective_noise_variance(problem.noise, r))
    sp = spectra(problem)
    ds = ds.merge(sp)
    ds.attrs.update(th.attrs)
    ds.attrs.update(sp.attrs)
    ds["lr_eff"].attrs["long_name"] = "effective learning rate lr c(R)"
    ds["kappa"].attrs["long_name"] = "noise compression c(R)^2 (2R + E eps^2)"
    return ds


# ------------------------------------------------------------------ risk-driven schedules
def _validate(problem: Any, lr: Any, steps: int) -> None:
    _check_problem(problem)
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ConfigError("steps", f"must be a positive integer, got {steps!r}")
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ConfigError("lr", f"must be a positive number, got {lr!r}")


def constant_effective_rate(problem: Any, lr: float, steps: int, *,
                            points_per_decade: int = 10, rtol: float = 1e-6) -> xr.Dataset:
    """signSGD with the risk-driven rate gamma(R) = lr c(R_0) / c(R) (gamma c(R) held at its
    initial value lr c(R_0); for Gaussian noise gamma = lr sqrt((2R + s^2) / (2R_0 + s^2))).

    ``theory.run`` of the policy :class:`~optdyn.theory.laws.sign_rate.ConstantEffectiveRate`
    (ODE dv_j/dk = -2 e lambda_j v_j + (e^2 / (2 c(R)^2)) q_j with e = lr c(R_0)) on the
    checkpoints and a dense replay grid. Returns the driver's Dataset on the checkpoints plus
    ``lr`` and ``lr_eff`` there and ``lr_per_step`` (dim ``k``) for :func:`replay`.
    """
    from optdyn import theory

    _validate(problem, lr, steps)
    t0 = time.perf_counter()
    ckpts = checkpoint_steps(int(steps), points_per_decade)
    grid = np.union1d(ckpts, replay_grid(int(steps)))
    policy = ConstantEffectiveRate(float(lr))
    th = theory.run(problem, policy, int(steps), at=grid, rtol=rtol)
    risk = th["risk"].values
    if not np.all(np.isfinite(risk)):
        raise ConfigError("lr", "the ODE of the constant-effective-rate schedule diverged or "
                          "failed")
    eta_eff = effective_rate(problem, policy)
    lr_grid = eta_eff / drift_factor(problem.noise, risk)
    lr_k = hold(grid, lr_grid, int(steps))
    at = np.searchsorted(grid, ckpts)
    ds = th.isel(step=at).assign(lr=("step", lr_grid[at]),
                                 lr_eff=("step", np.full(ckpts.size, eta_eff)))
    ds = ds.assign_coords(k=("k", np.arange(int(steps)))).assign(lr_per_step=("k", lr_k))
    ds["risk"].attrs.update(long_name="excess population risk (signSGD ODE)")
    ds.attrs.update(optimizer="sign_sgd", eta_eff=eta_eff,
                    label=f"signSGD, constant lr c(R) = {eta_eff:.3g}",
                    elapsed_s=time.perf_counter() - t0)
    return ds


def sgd_at_effective_rate(problem: Any, lr: float, steps: int, *,
                          points_per_decade: int = 40) -> SGD:
    """The SGD whose per-step rate is signSGD's effective rate lr c(R_sign(k)) along signSGD's
    ODE at the constant rate ``lr`` (the paper's matched comparison); use it in both engines."""
    from optdyn import theory

    _validate(problem, lr, steps)
    grid = replay_grid(int(steps))
    th = theory.run(problem, SignSGD(lr), int(steps), points_per_decade=points_per_decade)
    # the risk on the dense replay grid: log-linear interpolation of the ODE output in the step
    r = np.exp(np.interp(grid, th["step"].values, np.log(th["risk"].values)))
    g_k = hold(grid, float(lr) * drift_factor(problem.noise, r), int(steps))
    return SGD(lr=PiecewiseArray(g_k))


def replay(ds: xr.Dataset) -> SignSGD:
    """The SignSGD that replays a :func:`constant_effective_rate` schedule step by step."""
    if "lr_per_step" not in ds:
        raise ConfigError("ds", "not a constant_effective_rate result: no 'lr_per_step'")
    return SignSGD(lr=PiecewiseArray(np.asarray(ds["lr_per_step"].values, dtype=float)))


def matched_limits(problem: Any, lr: float) -> dict[str, float]:
    """Limit risks of signSGD at the constant rate ``lr`` and of SGD at signSGD's effective rate
    there, lr_sgd = lr c(R_sign) (the heavy-tail comparison of docs/theory/signsgd.md section 6.2).

    signSGD's fixed point solves R c(R) = (lr / 4) sum_i sqrt(K_ii) (finite for any noise law);
    SGD's is R = lr_sgd E eps^2 Tr K / (4 - 2 lr_sgd Tr K) (infinite when E eps^2 is, or when
    lr_sgd is above its critical rate). For K with a unit diagonal and R_sign << E eps^2,
    R_sgd / R_sign ~ c^2 E eps^2 ~ kappa(R_sign): SGD wins where kappa < 1 (Gaussian: 4/pi^2),
    signSGD where kappa > 1 (heavy tails). Returns ``sign``, ``sgd``, ``lr_sgd``, ``kappa``.
    """
    from optdyn import theory

    _validate(problem, lr, 1)
    r_s = float(theory.limit_risk(problem, SignSGD(float(lr))))
    g = float(lr) * float(drift_factor(problem.noise, r_s))
    try:
        r_g = float(theory.limit_risk(problem, SGD(g)))
    except ConfigError:  # infinite noise variance: SGD has no limit risk
        r_g = math.inf
    return {"sign": r_s, "sgd": r_g if math.isfinite(r_g) else math.inf, "lr_sgd": g,
            "kappa": float(compression(problem.noise, r_s))}
