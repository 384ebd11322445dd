"""Compute-optimal scaling laws of signSGD and SGD on power-law random features, from the theory.

Setting (Paquette, Paquette, Xiao, Pennington, "4+3 phases of compute-optimal neural scaling
laws", arXiv 2405.15074; Kim, Song, Yun, "Scaling laws of signSGD in linear regression: when does
it outperform SGD?", arXiv 2603.02069; docs/theory/signsgd.md section 10.4): one-pass training of a
PLRF model of size d (:class:`optdyn.problems.plrf.PowerLawRandomFeatures`) with one sample per
step, so r steps cost the compute

    f = d x samples = d r.

For each model size d and step count r the loss reported is the population loss at the best
learning rate,

    P*(d, r) = min_gamma P_gamma(d, r),     P = R + F_0,   F_0 = sigma_xi(d)^2 / 2,

with R from the theory of the exactly reduced problem (docs/theory/signsgd.md section 10.3): the
per-step signSGD ODE (Xiao et al. arXiv 2411.12135; docs/theory/signsgd.md section 4.2) and the
exact discrete expected-risk recursion of SGD (docs/theory/signsgd.md section 5.2), both in float64
through :func:`optdyn.theory.run`. The compute-optimal frontier is the lower envelope over d at
fixed compute,

    P*(f) = min_d P*(d, f / d),

and its power law P*(f) ~ C f^s is fitted by least squares in log-log
(:func:`optdyn.analysis.fits.fit_power_law`).

Choices made here (the papers' exact protocols are unknown, docs/theory/signsgd.md section 10.1 and
12):

- Learning-rate search: a log grid evaluated as one batched ``theory.run`` (configs stacked and
  vmapped), then one refinement per step count at the vertex of the parabola through the grid
  minimum and its two neighbours (in log lr, log loss), evaluated by the theory again; the better
  of the two is kept. signSGD's grid spans ``gamma_ref 10^[-4.5, 0.5]`` with ``gamma_ref`` from
  :func:`sign_lr_scale`; SGD's spans ``gamma_c 10^[-3.5, 0]`` capped at ``0.95 gamma_c``, where
  gamma_c is the critical rate of the exact recursion (larger constant rates diverge). A minimum
  on an edge of its grid is flagged in ``lr_edge`` (-1 lower, +1 upper; SGD's upper edge is the
  stability cap, a constrained optimum).
- Schedules: ``"constant"`` lr, and ``"wsd"``: warmup-stable-decay *without warmup* (the
  "stable-decay" schedule of Kim, Song, Yun), constant peak for the first 80% of the r steps and a
  linear decay to 0 over the last ``decay_fraction`` = 20%. The peak is searched on a log grid
  around the best constant rate of the same (d, r) (factors 0.7 to 6, capped for SGD).
- DANA (``"dana"``, the exact recursion of :mod:`optdyn.theory.laws.dana`): the decaying form
  of Ferbach, Everett, Gidel, Paquette and Paquette (2025), gamma_3(k) = ``DANA_RATIO`` gamma_2
  (1 + k)^(-1/(2 alpha)) and damping ``DANA_DELTA`` / (1 + k), with alpha the problem's; its
  gradient rate gamma_2 is searched on SGD's grid (a rate that diverges has an infinite loss
  and is never chosen). The ratio 0.2 and delta = 2 were picked by hand on PLRF(1, 0.75) at
  d <= 800 (docs/theory/momentum.md section 7); DANA has no WSD variant (its schedules are its
  own).
- PLRF sizes: v = ``v_ratio`` d (default 4), as in the 4+3 paper's proportional regime; the
  sketch W is drawn from ``seed`` for each d.
- Fit window (unless given): the computes at which the frontier is resolved, i.e. the best model
  size is neither the smallest nor the largest of the list and both its neighbours in the list
  have a curve there (a minimum over d that the list brackets).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from optdyn._core.deprecation import moved_attribute
from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn._core.progress import Progress
from optdyn._core.spec import to_spec
from optdyn._version import __version__
from optdyn.analysis import fits
from optdyn.analysis.plrf_phases import phase_exponents
from optdyn.analysis.tuning import grid_minimum, parabola_vertex
from optdyn.optimizers import DANA, SGD, SignSGD, resolve_key
from optdyn.problems.linear_regression import LinearRegression
from optdyn.problems.plrf import PowerLawRandomFeatures
from optdyn.problems.spectral_measure import SpectralMeasure, plrf_equivalent
from optdyn.schedules import WarmupStableDecay

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "compute_optimal",
    "fit_window",
    "frontier",
    "optimal_lr_losses",
    "scaling_laws",
    "sign_lr_scale",
    "steps_grid",
]

OPTIMIZERS = ("sign_sgd", "sgd")
SCHEDULES = ("constant", "wsd")
_METHOD = {"sign_sgd": "ode", "sgd": "exact", "dana": "exact"}
DANA_RATIO = 0.2  # gamma_3 / gamma_2 at k = 0 of the DANA-decaying family
DANA_DELTA = 2.0  # damping delta / (1 + k)


def __getattr__(name: str) -> Any:
    if name in ("PowerLawFit", "fit_power_law"):  # moved to optdyn.analysis.fits
        return moved_attribute(__name__, name, "optdyn.analysis.fits")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PPD = 8  # checkpoints per decade of the theory runs; step grids are subsets of them
_SIGN_DECADES = (-4.5, 0.5)
_SGD_DECADES = (-3.5, 0.0)
_SGD_CAP = 0.95
_WSD_FACTORS = (0.7, 6.0)


# --------------------------------------------------------------------------- grids and helpers
def steps_grid(t_min: int, t_max: int, per_decade: int = 4) -> np.ndarray:
    """About ``per_decade`` step counts per decade from t_min to t_max (both included).

    Every value lies on the theory engines' checkpoint grid (:func:`checkpoint_steps` with 8 per
    decade), so curves are read without interpolation.
    """
    for name, val in (("t_min", t_min), ("t_max", t_max)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ConfigError(name, f"must be a positive integer, got {val!r}")
    if not t_max > t_min:
        raise ConfigError("t_max", f"must exceed t_min = {t_min}, got {t_max}")
    if isinstance(per_decade, bool) or not isinstance(per_decade, int) or not (
            1 <= per_decade <= _PPD):
        raise ConfigError("per_decade", f"must be an integer in [1, {_PPD}], got {per_decade!r}")
    ck = checkpoint_steps(int(t_max), _PPD)
    ck = ck[ck >= t_min]
    n = int(math.ceil(per_decade * math.log10(t_max / t_min))) + 1
    targets = np.logspace(math.log10(t_min), math.log10(t_max), n)
    idx = np.abs(np.log(ck)[None, :] - np.log(targets)[:, None]).argmin(axis=1)
    return np.unique(ck[idx]).astype(np.int64)


def _reduced(problem: Any) -> LinearRegression:
    if isinstance(problem, PowerLawRandomFeatures):
        return problem.reduce("gaussian")
    if isinstance(problem, LinearRegression | SpectralMeasure):
        return problem
    raise ConfigError("problem", "expected a PowerLawRandomFeatures, LinearRegression or "
                      f"SpectralMeasure, got {type(problem).__name__}")


def sign_lr_scale(problem: Any) -> float:
    """signSGD's reference rate: the constant rate whose limit risk equals the initial risk.

    From the fixed point R c(R) = (gamma / 4) sum_i sqrt(K_ii) of the signSGD ODE (Xiao et al.
    arXiv 2411.12135; docs/theory/signsgd.md section 4.5): gamma_ref = 4 R_0 c(R_0) / sum_i
    sqrt(K_ii), with c(R) = (2/pi) / sqrt(2R + sigma^2) for Gaussian noise. Useful rates lie below
    it.
    """
    from optdyn.theory.factors import sign_drift

    p = _reduced(problem)
    r0 = float(p.initial_risk)
    if not r0 > 0:
        raise ConfigError("theta0", "the initial risk is 0: nothing to optimise")
    diag = p.eigenvalues if p.basis is None else np.einsum("ij,j,ij->i", p.basis,
                                                            p.eigenvalues, p.basis)
    c0 = float(sign_drift(p.noise, np.asarray([r0]))[0])
    return 4.0 * r0 * c0 / float(np.sum(np.sqrt(np.clip(diag, 0.0, None))))


def _sgd_critical(problem: Any, method: str = "exact") -> float:
    """SGD's critical constant rate at batch 1 of the theory ``method`` (the law's own)."""
    from optdyn.theory.laws import SGDLaw

    return SGDLaw.limits(problem, SGD(1.0), method)[1]


def _make(kind: str, lr: float, schedule: str, total: int, decay_fraction: float,
          alpha: float | None = None) -> Any:
    if kind == "dana":
        return DANA.decaying(float(lr), DANA_RATIO * float(lr), alpha=float(alpha),
                             delta=DANA_DELTA)
    if schedule == "constant":
        sched: Any = float(lr)
    else:
        sched = WarmupStableDecay(peak=float(lr), total_steps=int(total), warmup_steps=0,
                                  decay_steps=max(1, int(round(decay_fraction * total))),
                                  final=0.0)
    return SignSGD(sched) if kind == "sign_sgd" else SGD(sched)


def _evaluate(problem: Any, kind: str, opts: list[Any], horizon: int,
              chunk: int, rtol: float, method: str | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Theory loss P = R + F_0 of ``opts`` at every checkpoint: a sweep (:mod:`optdyn.sweep`)
    whose cases are chunks of exactly ``chunk`` configs (the last padded), one batch each, so
    that compiled code is reused across calls."""
    from optdyn import sweep

    n = len(opts)
    specs = [to_spec(o, "optimizer") for o in opts]
    specs += [specs[-1]] * (-n % chunk)
    cases = [{"optimizer": specs[lo:lo + chunk]} for lo in range(0, len(specs), chunk)]
    study = {"name": "scaling-lr-search", "steps": int(horizon), "points_per_decade": _PPD,
             "stack": chunk,
             "simulate": False, "theory": {"method": method or _METHOD[kind], "rtol": rtol},
             "problem": to_spec(problem, "problem"), "optimizer": cases[0]["optimizer"],
             "sweep": {"cases": cases}}
    with tempfile.TemporaryDirectory() as tmp:
        ds = sweep.run(study, Path(tmp) / "store", executor="inline", points_per_batch=1,
                       progress=False)
    loss = ds["theory_loss"].values.reshape(-1, ds.sizes["step"])[:n]
    return loss, ds["step"].values


def _at_steps(loss: np.ndarray, ck: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Rows of ``loss`` (configs, checkpoints) read at ``steps``: exactly where they are
    checkpoints, else interpolated linearly in log step and log loss."""
    idx = np.searchsorted(ck, steps)
    if np.all(idx < ck.size) and np.array_equal(ck[np.minimum(idx, ck.size - 1)], steps):
        return loss[:, idx]
    lk = np.log(ck[1:].astype(float))
    with np.errstate(divide="ignore"):
        return np.stack([np.exp(np.interp(np.log(steps.astype(float)), lk, np.log(row[1:])))
                         for row in loss])


def _check_kind(optimizer: Any, schedule: str) -> str:
    """The study's key (``"sign_sgd"`` or ``"sgd"``) of ``optimizer``: the class SignSGD or SGD,
    an instance, or the name in any spelling (:func:`optdyn.optimizers.resolve`)."""
    key = resolve_key(optimizer, {"sign_sgd": SignSGD, "sgd": SGD, "dana": DANA}, "optimizer")
    if schedule not in SCHEDULES:
        raise ConfigError("schedule", f"expected one of {SCHEDULES}, got {schedule!r}")
    if key == "dana" and schedule != "constant":
        raise ConfigError("schedule", "DANA runs its own decaying schedules; use 'constant' "
                          "(its rate gamma_2 is searched)")
    return key


def _check_steps(steps: Any) -> np.ndarray:
    arr = np.asarray(steps)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or np.any(
            arr < 1) or np.any(np.diff(arr) <= 0):
        raise ConfigError("steps", "expected an increasing 1-D array of positive step counts, "
                          f"got {steps!r}")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- best learning rate
def optimal_lr_losses(
    problem: Any,
    optimizer: Any,
    steps: Sequence[int] | np.ndarray,
    schedule: str = "constant",
    *,
    n_lr: int = 24,
    n_wsd: int = 5,
    decay_fraction: float = 0.2,
    centers: Sequence[float] | np.ndarray | None = None,
    refine: bool = True,
    horizon: int | None = None,
    chunk: int = 24,
    rtol: float = 1e-5,
    alpha: float | None = None,
    method: str | None = None,
) -> xr.Dataset:
    """Population loss at the best learning rate for each step count, from the theory.

    ``P*(r) = min_gamma [R_gamma(r) + F_0]`` for r in ``steps`` (see the module docstring for the
    grids, the refinement and the schedules). ``optimizer`` is ``"sign_sgd"`` (ODE of Xiao et al.
    arXiv 2411.12135, per-step form) or ``"sgd"`` (exact recursion, docs/theory/signsgd.md section
    5.2), batch 1.

    Args:
        problem: a :class:`PowerLawRandomFeatures` (its reduction is used) or a
            :class:`LinearRegression`.
        optimizer: :class:`SignSGD` or :class:`SGD` (class, instance or name in any spelling;
            results name them ``"sign_sgd"`` and ``"sgd"``).
        steps: increasing step counts r (best on :func:`steps_grid`; others are interpolated
            log-log between checkpoints for the constant schedule).
        schedule: ``"constant"`` or ``"wsd"`` (no warmup, linear decay to 0 over the last
            ``decay_fraction`` of the r steps).
        n_lr: size of the constant-rate grid; n_wsd: size of each WSD peak grid.
        centers: per step count, the rate around which the WSD peak is searched (default: the
            best constant rate, computed first).
        refine: evaluate the parabola vertex of each grid minimum.
        horizon: theory horizon (default max(steps)); a common value reuses compiled code.
        chunk: configs per batched theory call (padded; a fixed size reuses compiled code).
        rtol: local tolerance of the ODE integrator (signSGD; the SGD recursion is exact).
        alpha: the spectrum exponent of DANA's decaying momentum rate (default: the PLRF's).
        method: the theory method (default: signSGD's ODE, SGD's and DANA's exact recursion);
            ``"ode"`` runs SGD's homogenized ODE instead (adaptive steps: long horizons cost
            what short ones do), whose critical rate 2 / Tr K then caps the grid.

    Returns:
        ``xarray.Dataset`` on ``steps`` with ``loss`` (P*), ``risk`` (P* - F_0), ``lr_opt`` and
        ``lr_edge``, coordinates ``samples`` and ``f = d samples`` (compute), and attributes with
        the settings, the lr grid and F_0.
    """
    optimizer = _check_kind(optimizer, schedule)
    steps_arr = _check_steps(steps)
    p = _reduced(problem)
    if isinstance(n_lr, bool) or not isinstance(n_lr, int) or n_lr < 3:
        raise ConfigError("n_lr", f"must be an integer >= 3, got {n_lr!r}")
    if isinstance(n_wsd, bool) or not isinstance(n_wsd, int) or n_wsd < 3:
        raise ConfigError("n_wsd", f"must be an integer >= 3, got {n_wsd!r}")
    if not (isinstance(decay_fraction, int | float) and 0 < decay_fraction <= 1):
        raise ConfigError("decay_fraction", f"must lie in (0, 1], got {decay_fraction!r}")
    horizon = int(steps_arr[-1] if horizon is None else horizon)
    if horizon < steps_arr[-1]:
        raise ConfigError("horizon", f"must be >= max(steps) = {steps_arr[-1]}, got {horizon}")
    f0 = 0.5 * p.noise_second_moment
    if optimizer == "dana" and alpha is None:
        alpha = getattr(getattr(problem, "source", problem), "alpha", None)
        if alpha is None:
            raise ConfigError("alpha", "DANA's momentum rate decays as (1 + k)^(-1/(2 alpha)): "
                              "give alpha for a problem that is not a PLRF")
    if optimizer == "sign_sgd":
        ref = sign_lr_scale(p)
        lo, hi, cap = ref * 10 ** _SIGN_DECADES[0], ref * 10 ** _SIGN_DECADES[1], math.inf
    else:
        crit = _sgd_critical(p, "ode" if (method == "ode" and optimizer == "sgd") else "exact")
        ref, cap = crit, _SGD_CAP * crit
        lo, hi = crit * 10 ** _SGD_DECADES[0], cap
    nt = steps_arr.size

    if schedule == "constant":
        grid = np.logspace(math.log10(lo), math.log10(hi), n_lr)
        opts = [_make(optimizer, g, "constant", horizon, decay_fraction, alpha) for g in grid]
        loss_all, ck = _evaluate(p, optimizer, opts, horizon, chunk, rtol, method)
        loss = _at_steps(loss_all, ck, steps_arr).T
        cand = np.broadcast_to(grid, (nt, n_lr))
    else:
        if centers is None:
            centers = optimal_lr_losses(p, optimizer, steps_arr, "constant", n_lr=n_lr,
                                        refine=refine, horizon=horizon, chunk=chunk,
                                        rtol=rtol, method=method)["lr_opt"]
        cen = np.asarray(centers, dtype=float)
        if cen.shape != (nt,) or not np.all(np.isfinite(cen)) or np.any(cen <= 0):
            raise ConfigError("centers", f"expected {nt} positive rates, got {centers!r}")
        a = np.maximum(cen * _WSD_FACTORS[0], lo)
        b = np.minimum(cen * _WSD_FACTORS[1], cap)
        a = np.minimum(a, b / 1.5)
        cand = np.exp(np.linspace(np.log(a), np.log(b), n_wsd, axis=1))
        opts = [_make(optimizer, g, "wsd", int(t), decay_fraction)
                for t, row in zip(steps_arr, cand, strict=True) for g in row]
        loss_all, ck = _evaluate(p, optimizer, opts, horizon, chunk, rtol, method)
        loss = loss_all[:, -1].reshape(nt, n_wsd)  # lr = 0 after step r: the loss is frozen

    lx = np.log(cand)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log(loss)
    xv, edge = parabola_vertex(lx, ly)
    best_i, _ = grid_minimum(ly, axis=1)
    best = loss[np.arange(nt), best_i]
    lr_opt = cand[np.arange(nt), best_i].copy()
    if refine:
        g_ref = np.exp(xv)
        opts = [_make(optimizer, g, schedule, int(t), decay_fraction, alpha)
                for t, g in zip(steps_arr, g_ref, strict=True)]
        loss_ref, ck = _evaluate(p, optimizer, opts, horizon, chunk, rtol, method)
        if schedule == "constant":
            at = _at_steps(loss_ref, ck, steps_arr)[np.arange(nt), np.arange(nt)]
        else:
            at = loss_ref[:, -1]
        better = np.isfinite(at) & (at < best)
        best = np.where(better, at, best)
        lr_opt = np.where(better, g_ref, lr_opt)

    d = p.d
    ds = xr.Dataset(
        {
            "loss": ("steps", best),
            "risk": ("steps", best - f0),
            "lr_opt": ("steps", lr_opt),
            "lr_edge": ("steps", edge.astype(np.int8)),
        },
        coords={"steps": steps_arr, "samples": ("steps", steps_arr),
                "f": ("steps", d * steps_arr.astype(float))},
    )
    ds["loss"].attrs.update(long_name="population loss P = R + F0 at the best learning rate")
    ds["lr_opt"].attrs.update(long_name="best per-step learning rate (peak for wsd)")
    ds["lr_edge"].attrs.update(description="-1/+1: grid minimum at the lower/upper end of the "
                               "grid (sgd's upper end is 0.95 x its critical rate); 0 inside")
    ds["f"].attrs.update(long_name="compute f = d x samples")
    ds.attrs.update(
        optdyn_version=__version__, kind="theory", optimizer=optimizer,
        method=method or _METHOD[optimizer], schedule=schedule, d=d, F0=f0, lr_reference=ref,
        lr_cap=cap if math.isfinite(cap) else "none", decay_fraction=float(decay_fraction),
        warmup_steps=0, n_lr=n_lr, n_wsd=n_wsd, refine=int(refine), horizon=horizon,
        dtype="float64",
        lr_convention="lr is the per-step learning rate",
    )
    return ds


# --------------------------------------------------------------------------- frontier and fits
def frontier(
    loss: np.ndarray | xr.DataArray,
    ds: Sequence[int] | np.ndarray,
    steps: Sequence[int] | np.ndarray,
    *,
    per_decade: int = 8,
) -> xr.Dataset:
    """Compute-optimal frontier P*(f) = min_d P(d, f / d) of losses ``loss[d, step]``.

    Each model's curve log P(d, r) is interpolated linearly in log f (f = d r, one sample per
    step) onto a log grid of ``per_decade`` computes per decade; outside its range a model is
    absent. Returns ``frontier_loss``, ``frontier_d`` (the minimising d), ``available`` (d, f)
    and ``n_models`` (how
    many model sizes cover each compute) on the coordinate ``f`` (compute = d x samples).
    """
    la = np.asarray(loss, dtype=float)
    da = np.asarray(ds, dtype=float)
    sa = np.asarray(steps, dtype=float)
    if la.shape != (da.size, sa.size):
        raise ConfigError("loss", f"has shape {la.shape}, expected (len(ds), len(steps)) = "
                          f"({da.size}, {sa.size})")
    if np.any(da <= 0) or np.any(sa <= 0):
        raise ConfigError("ds", "model sizes and step counts must be > 0")
    f = da[:, None] * sa[None, :]
    lf = np.log10(f)
    n = int(math.ceil(per_decade * (lf.max() - lf.min()))) + 1
    grid = np.linspace(lf.min(), lf.max(), n)
    vals = np.full((da.size, n), np.nan)
    for i in range(da.size):
        ok = np.isfinite(la[i]) & (la[i] > 0)
        if ok.sum() < 2:
            continue
        x, y = lf[i, ok], np.log10(la[i, ok])
        inside = (grid >= x[0] - 1e-12) & (grid <= x[-1] + 1e-12)
        vals[i, inside] = np.interp(grid[inside], x, y)
    avail = np.isfinite(vals)
    n_models = avail.sum(0)
    best = np.where(avail, vals, np.inf).argmin(0)
    fl = np.where(n_models > 0, 10 ** vals[best, np.arange(n)], np.nan)
    fd = np.where(n_models > 0, da[best], np.nan)
    out = xr.Dataset(
        {"frontier_loss": ("f", fl), "frontier_d": ("f", fd), "n_models": ("f", n_models)},
        coords={"f": 10 ** grid},
    )
    out["available"] = (("d", "f"), avail)
    out = out.assign_coords(d=da.astype(np.int64) if np.all(da == np.round(da)) else da)
    out["frontier_loss"].attrs.update(long_name="min over d of the loss at compute f")
    out["f"].attrs.update(long_name="compute f = d x samples")
    return out


def fit_window(fr: xr.Dataset, avail: np.ndarray, ds: np.ndarray,
               fit_range: tuple[float, float] | None = None) -> np.ndarray:
    """Computes of a :func:`frontier` used for the slope fit (see the module docstring).

    ``avail[i, k]``: model ``ds[i]`` has a curve at compute ``f[k]``. Default: the best size is
    interior to ``ds`` and both neighbours are available (a bracketed minimum over d);
    ``fit_range = (lo, hi)``: the computes in [lo, hi].
    """
    f = fr["f"].values
    fin = np.isfinite(fr["frontier_loss"].values)
    if fit_range is not None:
        lo, hi = fit_range
        return (f >= lo) & (f <= hi) & fin
    idx = np.searchsorted(ds, fr["frontier_d"].fillna(ds[0]).values)
    inner = (idx > 0) & (idx < ds.size - 1)
    k = np.arange(f.size)
    lo_ok = avail[np.clip(idx - 1, 0, ds.size - 1), k]
    hi_ok = avail[np.clip(idx + 1, 0, ds.size - 1), k]
    return inner & lo_ok & hi_ok & fin


def _lr_on_frontier(fr: xr.Dataset, lr: np.ndarray, ds: np.ndarray, steps: np.ndarray
                    ) -> np.ndarray:
    """The best rate at each compute of a :func:`frontier`: ``lr[d*, f / d*]``, interpolated
    linearly in log steps and log lr (NaN off the frontier)."""
    out = np.full(fr.sizes["f"], np.nan)
    for k, (f, dd) in enumerate(zip(fr["f"].values, fr["frontier_d"].values, strict=True)):
        if not np.isfinite(dd):
            continue
        row = lr[int(np.searchsorted(ds, dd))]
        ok = np.isfinite(row) & (row > 0)
        if ok.sum() >= 2:
            out[k] = np.exp(np.interp(math.log(f / dd), np.log(steps[ok].astype(float)),
                                      np.log(row[ok])))
    return out


def _fit_frontier(loss: np.ndarray, ds: np.ndarray, steps: np.ndarray,
                  fit_range: tuple[float, float] | None, lr: np.ndarray | None = None
                  ) -> tuple[xr.Dataset, tuple]:
    """The :func:`frontier` of ``loss[d, step]`` and its fits: (slope, slope_se, intercept,
    fit_lo, fit_hi, n_fit, d_star_slope, d_star_slope_se, lr_slope, lr_slope_se), NaN where
    fewer than 3 computes fit; with ``lr[d, step]`` (the best rates) the frontier also carries
    ``lr_frontier`` and its exponent lr* ~ f^lr_slope is fitted on the same window."""
    fr = frontier(loss, ds, steps)
    lr_f = None if lr is None else _lr_on_frontier(fr, lr, ds, steps)
    if lr_f is not None:
        fr["lr_frontier"] = ("f", lr_f)
    win = fit_window(fr, fr["available"].values, ds, fit_range)
    f = fr["f"].values
    if win.sum() < 3:
        return fr, (np.nan, np.nan, np.nan, np.nan, np.nan, int(win.sum()), np.nan, np.nan,
                    np.nan, np.nan)
    fit = fits.fit_power_law(f[win], fr["frontier_loss"].values[win])
    dfit = fits.fit_power_law(f[win], fr["frontier_d"].values[win])
    lr_fit = (np.nan, np.nan)
    if lr_f is not None and np.isfinite(lr_f[win]).sum() >= 3:
        ok = win & np.isfinite(lr_f)
        lfit = fits.fit_power_law(f[ok], lr_f[ok])
        lr_fit = (lfit.slope, lfit.slope_se)
    return fr, (fit.slope, fit.slope_se, fit.intercept, f[win].min(), f[win].max(), fit.n,
                dfit.slope, dfit.slope_se, *lr_fit)


# --------------------------------------------------------------------------- whole studies
def compute_optimal(
    alpha: float,
    beta: float,
    ds: Sequence[int],
    *,
    t_min: int = 16,
    t_max: int = 16384,
    per_decade: int = 4,
    v_ratio: int = 4,
    seed: int = 0,
    optimizers: Sequence[Any] = OPTIMIZERS,
    schedules: Sequence[str] = SCHEDULES,
    n_lr: int = 24,
    n_wsd: int = 5,
    decay_fraction: float = 0.2,
    fit_range: tuple[float, float] | None = None,
    chunk: int = 24,
    rtol: float = 1e-5,
    spectrum: str = "sampled",
    sgd_method: str | None = None,
    progress: bool | None = False,
) -> xr.Dataset:
    """Compute-optimal curves of PLRF(alpha, beta) for model sizes ``ds``, from the theory.

    For each d (v = v_ratio d, sketch seed ``seed``), optimizer and schedule: the loss at the best
    learning rate on :func:`steps_grid` (``t_min``..``t_max``, ``per_decade``), the frontier over
    d (:func:`frontier`) and the fitted frontier slope s of P*(f) ~ f^s with its standard error
    (:func:`optdyn.analysis.fits.fit_power_law`, window: every model size present, or
    ``fit_range``). ``spectrum="sampled"`` reduces a PLRF with a sampled sketch;
    ``"equivalent"`` uses its deterministic-equivalent spectral measure
    (:func:`optdyn.problems.plrf_equivalent`, no sampling, d up to 10^5; SGD only, whose method
    is ``sgd_method``, default the exact recursion). Also returned: the fitted exponent of the
    compute-optimal size d* ~ f^xi (``d_star_slope``, ``d_star_slope_se``), the slope fitted on
    the sizes up to each ``d_max`` in ``ds[2:]`` (``slope_by_d_max``: its trend), the best rate
    along the frontier and its exponent (``lr_frontier``, ``lr_slope``), SGD's predicted
    exponents (``predicted_slope`` = -eta, ``predicted_d_star_slope`` = xi, ``phase``;
    :func:`optdyn.analysis.plrf_phases.phase_exponents`). See the module
    docstring for the formulas and the choices (Paquette et al. arXiv 2405.15074; Kim, Song, Yun
    arXiv 2603.02069; Xiao et al. arXiv 2411.12135).

    Returns:
        ``xarray.Dataset`` with dims ``optimizer``, ``schedule``, ``d``, ``steps`` and
        ``f`` (compute): ``loss``, ``lr_opt``, ``lr_edge`` (optimizer, schedule, d, steps);
        ``F0``, ``sigma_xi2``, ``initial_loss`` (d); ``frontier_loss``, ``frontier_d``,
        ``n_models`` (optimizer, schedule, f); ``slope``, ``slope_se``, ``intercept``,
        ``fit_lo``, ``fit_hi``, ``n_fit`` (optimizer, schedule); attributes with the settings.
    """
    for name, val in (("alpha", alpha), ("beta", beta)):
        if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
            raise ConfigError(name, f"must be a finite number, got {val!r}")
    d_arr = np.asarray(ds)
    if d_arr.ndim != 1 or d_arr.size < 2 or not np.issubdtype(d_arr.dtype, np.integer) or \
            np.any(np.diff(d_arr) <= 0) or np.any(d_arr < 1):
        raise ConfigError("ds", f"expected at least 2 increasing positive model sizes, got {ds!r}")
    if isinstance(v_ratio, bool) or not isinstance(v_ratio, int) or v_ratio < 1:
        raise ConfigError("v_ratio", f"must be an integer >= 1, got {v_ratio!r}")
    if spectrum not in ("sampled", "equivalent"):
        raise ConfigError("spectrum", f"expected 'sampled' or 'equivalent', got {spectrum!r}")
    sch_list = list(schedules)
    opt_list = [_check_kind(o, "constant") for o in optimizers]  # dana: constant only
    if spectrum == "equivalent" and set(opt_list) - {"sgd"}:
        raise ConfigError("optimizers", "the deterministic-equivalent measure carries K_f's "
                          "spectrum only; signSGD and DANA need K_f itself (spectrum='sampled')")
    for s in sch_list:
        _check_kind("sgd", s)
    steps = steps_grid(t_min, t_max, per_decade)
    shape = (len(opt_list), len(sch_list), d_arr.size, steps.size)
    loss = np.full(shape, np.nan)
    lr_opt = np.full(shape, np.nan)
    edge = np.zeros(shape, np.int8)
    f0 = np.zeros(d_arr.size)
    p0 = np.zeros(d_arr.size)
    with Progress("scaling", progress, unit="model sizes") as bar:
        task = bar.task(f"alpha = {alpha:g}, beta = {beta:g}", d_arr.size)
        for k, d in enumerate(d_arr.tolist()):
            if spectrum == "equivalent":
                red = plrf_equivalent(v_ratio * d, d, alpha, beta)
                f0[k] = 0.5 * red.noise_second_moment
            else:
                prob = PowerLawRandomFeatures(v=v_ratio * d, d=d, alpha=alpha, beta=beta,
                                              seed=seed)
                red = prob.reduce("gaussian")
                f0[k] = prob.F0
            p0[k] = f0[k] + red.initial_risk
            for i, o in enumerate(opt_list):
                const = None
                for j, s in enumerate(sch_list):
                    if o == "dana" and s != "constant":
                        continue  # DANA's schedules are its own: NaN there
                    kw = dict(n_lr=n_lr, n_wsd=n_wsd, decay_fraction=decay_fraction,
                              horizon=int(t_max), chunk=chunk, rtol=rtol, alpha=alpha,
                              method=sgd_method if o == "sgd" else None)
                    if s == "wsd" and const is not None:
                        kw["centers"] = const["lr_opt"].values
                    res = optimal_lr_losses(red, o, steps, s, **kw)
                    if s == "constant":
                        const = res
                    loss[i, j, k] = res["loss"].values
                    lr_opt[i, j, k] = res["lr_opt"].values
                    edge[i, j, k] = res["lr_edge"].values
            bar.update(task, k + 1)

    fr_loss, fr_d, fr_n, fr_lr, slopes, trend = [], [], [], [], [], []
    n_trend = max(0, d_arr.size - 2)  # d_max = ds[2:], every prefix of >= 3 sizes
    for i in range(len(opt_list)):
        row_l, row_d, row_n, row_lr, row_s, row_t = [], [], [], [], [], []
        for j in range(len(sch_list)):
            fr, fit_row = _fit_frontier(loss[i, j], d_arr, steps, fit_range, lr_opt[i, j])
            row_lr.append(fr["lr_frontier"].values)
            row_l.append(fr["frontier_loss"].values)
            row_d.append(fr["frontier_d"].values)
            row_n.append(fr["n_models"].values)
            row_s.append(fit_row)
            row_t.append([_fit_frontier(loss[i, j, :m], d_arr[:m], steps, fit_range)[1][:2]
                          for m in range(3, d_arr.size + 1)])
        fr_loss.append(row_l)
        fr_d.append(row_d)
        fr_n.append(row_n)
        fr_lr.append(row_lr)
        slopes.append(row_s)
        trend.append(row_t)
    compute = fr["f"].values
    s_arr = np.asarray(slopes, dtype=float)
    pred = phase_exponents(alpha, beta)
    dims4 = ("optimizer", "schedule", "d", "steps")
    dimsf = ("optimizer", "schedule", "f")
    dims2 = ("optimizer", "schedule")
    out = xr.Dataset(
        {
            "loss": (dims4, loss),
            "lr_opt": (dims4, lr_opt),
            "lr_edge": (dims4, edge),
            "F0": ("d", f0),
            "sigma_xi2": ("d", 2 * f0),
            "initial_loss": ("d", p0),
            "frontier_loss": (dimsf, np.asarray(fr_loss)),
            "frontier_d": (dimsf, np.asarray(fr_d)),
            "n_models": (dimsf, np.asarray(fr_n)),
            "lr_frontier": (dimsf, np.asarray(fr_lr)),
            "slope": (dims2, s_arr[..., 0]),
            "slope_se": (dims2, s_arr[..., 1]),
            "intercept": (dims2, s_arr[..., 2]),
            "fit_lo": (dims2, s_arr[..., 3]),
            "fit_hi": (dims2, s_arr[..., 4]),
            "n_fit": (dims2, s_arr[..., 5].astype(int)),
            "d_star_slope": (dims2, s_arr[..., 6]),
            "d_star_slope_se": (dims2, s_arr[..., 7]),
            "lr_slope": (dims2, s_arr[..., 8]),
            "lr_slope_se": (dims2, s_arr[..., 9]),
            "predicted_slope": -pred.eta,
            "predicted_d_star_slope": pred.xi,
            "slope_by_d_max": (("optimizer", "schedule", "d_max"),
                               np.asarray(trend, dtype=float).reshape(
                                   len(opt_list), len(sch_list), n_trend, 2)[..., 0]),
            "slope_se_by_d_max": (("optimizer", "schedule", "d_max"),
                                  np.asarray(trend, dtype=float).reshape(
                                      len(opt_list), len(sch_list), n_trend, 2)[..., 1]),
        },
        coords={
            "optimizer": opt_list,
            "schedule": sch_list,
            "d": d_arr,
            "steps": steps,
            "samples": ("steps", steps),
            "f": compute,
            "d_max": d_arr[2:],
            "method": ("optimizer", [_METHOD[o] for o in opt_list]),
        },
    )
    out["loss"].attrs.update(long_name="population loss P = R + F0 at the best learning rate",
                             convention="P = (1/2) E(<W^T x, theta> - <x, b>)^2")
    out["slope"].attrs.update(long_name="fitted exponent s of frontier_loss ~ f^s "
                              "(least squares in log10-log10)")
    out["slope_se"].attrs.update(long_name="OLS standard error of the slope")
    out["F0"].attrs.update(long_name="capacity floor F0 = sigma_xi^2 / 2")
    out["lr_frontier"].attrs.update(long_name="best (peak) per-step rate at the "
                                    "compute-optimal size, lr_opt[d*, f / d*]")
    out["lr_slope"].attrs.update(long_name="fitted exponent of lr_frontier ~ f^lr_slope")
    out["d_star_slope"].attrs.update(long_name="fitted exponent xi of frontier_d ~ f^xi "
                                     "(model sizes are the list ds: a staircase)")
    out["slope_by_d_max"].attrs.update(long_name="the slope fitted on the sizes ds <= d_max "
                                       "only: its trend as the largest model grows")
    out["predicted_slope"].attrs.update(long_name="-eta of SGD's phase (arXiv 2405.15074; "
                                        "docs/theory/plrf_phases.md)", phase=pred.phase,
                                        source=pred.source)
    config = dict(alpha=float(alpha), beta=float(beta), ds=d_arr.tolist(), t_min=int(t_min),
                  t_max=int(t_max), per_decade=per_decade, v_ratio=v_ratio, seed=seed,
                  n_lr=n_lr, n_wsd=n_wsd, decay_fraction=decay_fraction,
                  fit_range=None if fit_range is None else list(fit_range),
                  wsd="no warmup; constant peak, then linear decay to 0 over the last "
                      f"{decay_fraction:.0%} of the steps",
                  batch_size=1, spectrum=spectrum, sgd_method=sgd_method)
    out.attrs.update(
        optdyn_version=__version__, kind="theory", alpha=float(alpha), beta=float(beta),
        phase=pred.phase, config=json.dumps(config), dtype="float64",
        compute_convention="f = d x samples",
        fit_window="computes where the best d is bracketed by its neighbours in ds"
        if fit_range is None else
        f"[{fit_range[0]:.3g}, {fit_range[1]:.3g}]",
        lr_convention="lr is the per-step learning rate",
    )
    return out


def scaling_laws(
    points: Sequence[tuple[float, float]],
    ds: Sequence[int],
    **kwargs: Any,
) -> xr.Dataset:
    """:func:`compute_optimal` for several (alpha, beta) points, stacked along ``point``.

    The result has the coordinates ``alpha(point)`` and ``beta(point)``; ``kwargs`` go to
    :func:`compute_optimal`. Points need 2 alpha + 2 beta > 1 (finite loss as v -> infinity).
    """
    pts = [tuple(map(float, pt)) for pt in points]
    if not pts:
        raise ConfigError("points", "the list of (alpha, beta) points is empty")
    for i, pt in enumerate(pts):
        if len(pt) != 2:
            raise ConfigError(f"points[{i}]", f"expected (alpha, beta), got {points[i]!r}")
    parts = [compute_optimal(a, b, ds, **kwargs) for a, b in pts]
    # the compute grid f depends only on ds and the step grid: identical across points
    out = xr.concat(parts, dim="point", combine_attrs="drop_conflicts")
    out = out.assign_coords(point=np.arange(len(pts)), alpha=("point", [a for a, _ in pts]),
                            beta=("point", [b for _, b in pts]))
    out.attrs.pop("alpha", None)
    out.attrs.pop("beta", None)
    out.attrs["points"] = json.dumps(pts)
    out.attrs["config"] = json.dumps({"points": pts, "ds": [int(d) for d in ds],
                                      **{k: v for k, v in kwargs.items()}}, default=str)
    return out
