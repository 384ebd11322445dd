"""The (alpha, beta) phase diagram of SignSGD against stochastic SignSVD (Muon's idealisation).

Paquette, Marshall, Benigni, Wang, Agarwala, Paquette, "Phases of Muon: When Muon Eclipses
SignSGD", arXiv 2605.09552: on matrix least squares with a power-law covariance lambda_j =
j^(-2 alpha) (generic, Haar eigenbasis) and target W* = Q diag(j^(-beta)) V (2 alpha + 2 beta > 1),
the plane splits into a SignSGD-favoured phase, a SignSVD-favoured phase and a trade-off phase.
The paper's boundary equations were not available, so this module computes the diagram by the
acceptance procedure of docs/theory/muon.md section 3.2:

1. for each (alpha, beta), each method and batch size B, integrate the method's template law
   (:mod:`optdyn.theory.laws.matrix`; vectorised over a geometric grid of constant learning rates
   spanning the useful range, see :func:`lr_grid`) to the largest horizon, or, with
   ``engine="simulation"``, simulate both methods over the same grid (the ground truth where the
   template laws fail: noiseless targets, SignSVD's signal-dominated transient);
2. R_method(T, B) = min over the grid of R(T; lr, B), and lr*(T, B) its argmin;
3. label the point by the sign of log R_SignSGD - log R_SignSVD over all (T, B) (ties within
   ``tie`` ignored): always > 0 SignSVD-favoured (+1), always < 0 SignSGD-favoured (-1), mixed
   trade-off (0). What "uniformly" ranges over is not known (docs/theory/muon.md section 3.2);
   :func:`label_phases` relabels a diagram over any subset of its (B, T) set.

Candidate boundary lines (docs/theory/muon.md section 2.7 [I]): 2 alpha = 1 (trace class), alpha =
1 (SignSVD's top-mode noise sum), 2 alpha + 2 beta = 1 (finite initial risk). :func:`spot_check`
simulates a sample of points (d >= 256, m >= 2d, 3 seeds) at the theory's best rates.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from optdyn._core.deprecation import warn_moved
from optdyn._core.errors import ConfigError
from optdyn._core.spec import build, to_spec
from optdyn._core.traps import quiet_traps
from optdyn.analysis.tuning import grid_minimum
from optdyn.optimizers import SignSGD, SignSVD, resolve_key
from optdyn.problems import MatrixRegression
from optdyn.study import Study, parse_study
from optdyn.theory.laws.matrix import MatrixSignSGDLaw, SignSVDLaw
from optdyn.theory.matrix_profiles import a_B, f_B

__all__ = ["OPTIMIZERS", "LABELS", "ENGINES", "lr_grid", "best_rates", "phase_diagram",
           "phase_study", "label_phases", "spot_check", "candidate_lines"]

OPTIMIZERS = ("signsgd", "signsvd")
ENGINES = ("ode", "simulation")
LABELS = {-1: "SignSGD-favoured", 0: "trade-off", 1: "SignSVD-favoured"}
_OPT = {"signsgd": SignSGD, "signsvd": SignSVD}


def __getattr__(name: str) -> Any:
    if name == "METHODS":  # renamed: METHODS names theory methods in optdyn.theory
        warn_moved(f"{__name__}.METHODS", f"{__name__}.OPTIMIZERS")
        return OPTIMIZERS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _engine(engine: str) -> str:
    """``"ode"`` (the matrix template laws through :func:`optdyn.theory.run`, as its method is
    named there) or ``"simulation"``; the former name ``"template"`` warns once."""
    if engine == "template":
        warn_moved("phases engine='template'", "engine='ode'")
        return "ode"
    if engine not in ENGINES:
        raise ConfigError("engine", f"expected one of {ENGINES}, got {engine!r}")
    return engine


def _key(method: Any) -> str:
    """The map's key of a method: SignSGD or SignSVD as class, instance or name."""
    return resolve_key(method, _OPT, "method")


def candidate_lines() -> dict[str, str]:
    """The candidate boundaries drawn on the map (docs/theory/muon.md section 2.7 and 3.2,
    unverified [I])."""
    return {"2 alpha = 1": "trace class: the SGD-noise sum tr K is finite iff 2 alpha > 1",
            "alpha = 1": "SignSVD's top-mode noise sum sum_j sqrt(lambda_j) = sum_j j^-alpha "
                         "converges iff alpha > 1",
            "2 alpha + 2 beta = 1": "the initial risk sum_j j^(-2 alpha - 2 beta) is finite"}


def _problem(alpha: float, beta: float, d: int, m: int, sigma: float, seed: int,
             basis: str = "haar") -> MatrixRegression:
    return MatrixRegression.power_law(d, m, alpha, beta, sigma=sigma, basis=basis,
                                      basis_seed=seed, seed=seed)


def lr_grid(problem: MatrixRegression, method: Any, batch_size: int, horizon: int,
            per_decade: int = 4) -> np.ndarray:
    """Geometric grid of constant rates from barely moving the top mode over the horizon to
    10x the rate that moves it by its own size in one step:
    lr in [0.1 s0 / (g_1 T), 10 s0 / g_1], s0 = sqrt(2 R0 + m sigma^2), g_1 the top drift."""
    method = _key(method)
    s0 = math.sqrt(2 * problem.initial_risk + problem.noise_second_moment)
    lam = problem.eigenvalues
    if method == "signsvd":
        g1 = float(f_B(lam, batch_size)[0])
    else:
        g1 = a_B(batch_size) * math.sqrt(problem.m) * float(lam.max()) / math.sqrt(
            float(np.mean(lam)))
    lo, hi = 0.1 * s0 / (g1 * horizon), 10.0 * s0 / g1
    n = int(math.ceil(per_decade * math.log10(hi / lo))) + 1
    return np.geomspace(lo, hi, n)


def _optimizers(problem: MatrixRegression, method: str, lrs: Sequence[float],
                batch_size: int, engine: str) -> list:
    """One optimizer per rate; SignSVD simulated by the exact low-rank QR path if B < min(d, m)."""
    kw = {}
    if engine == "simulation" and method == "signsvd" and batch_size < min(problem.d, problem.m):
        kw = {"method": "qr"}
    return [_OPT[method](float(g), batch_size=batch_size, **kw) for g in lrs]


def _best(grid: np.ndarray, steps: np.ndarray, all_risk: np.ndarray,
          horizons: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(min_lr R(T), argmin lr) at each horizon from risks (lr, step); non-finite = inf."""
    idx = [int(np.argmin(np.abs(steps - t))) for t in horizons]
    risk = all_risk[: len(grid), idx]  # (lr, T)
    risk = np.where(np.isfinite(risk), risk, np.inf)
    best, _ = grid_minimum(risk, axis=0)
    return risk[best, np.arange(len(idx))], grid[best]


def best_rates(problem: MatrixRegression, method: Any, batch_size: int,
               horizons: Sequence[int], per_decade: int = 4, *, engine: str = "ode",
               seeds: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(min_lr R(T), argmin lr) at each horizon T for one method and batch size, over
    :func:`lr_grid`: the template law integrated in one vmapped call (``engine="ode"``) or
    the simulation engine's seed-mean risk, all rates and ``seeds`` seeds in one compiled run
    (``engine="simulation"``). Diverged runs count as infinite risk."""
    from optdyn import simulate, theory

    engine = _engine(engine)
    method = _key(method)
    horizons = [int(t) for t in horizons]
    tmax = max(horizons)
    grid = lr_grid(problem, method, batch_size, tmax, per_decade)
    opts = _optimizers(problem, method, grid, batch_size, engine)
    if engine == "ode":
        with quiet_traps():  # the rate grid reaches diverging and barely moving rates
            ds = theory.run(problem, opts, tmax, points_per_decade=_PPD)
        return _best(grid, ds.step.values, ds.risk.values, horizons)
    sim = simulate.run(problem, opts, tmax, seeds=seeds, points_per_decade=_PPD, progress=False)
    return _best(grid, sim.step.values, sim.risk.mean("seed").values, horizons)


_PPD = 20  # checkpoints per decade of each curve the horizons are read from


def phase_study(alphas: Sequence[float], betas: Sequence[float], *, d: int, m: int,
                batch_sizes: Sequence[int], horizons: Sequence[int], sigma: float,
                lrs_per_decade: int, seed: int, basis: str, engine: str, seeds: int
                ) -> tuple[Study, list[tuple[int, int, int, int, np.ndarray]]]:
    """The study behind a phase diagram, and what each of its cases is.

    One case per valid (alpha, beta), method and batch size: the problem with those exponents
    and the method's learning-rate grid (:func:`lr_grid`) as its optimizer list. Returns the
    study (swept over ``cases``) and, per case, its (method, alpha, beta, batch size) indices
    and rate grid.
    """
    cases, meta, widest = [], [], 1
    for ia, a in enumerate(alphas):
        for ib, b in enumerate(betas):
            if 2 * a + 2 * b <= 1:
                continue
            prob_spec = {"kind": "matrix_regression", "d": d, "m": m,
                         "eigenvalues": {"kind": "power_law", "alpha": float(a)},
                         "target": {"kind": "power_law", "beta": float(b)},
                         "sigma": sigma, "basis": basis, "basis_seed": seed, "seed": seed}
            prob = build("problem", prob_spec, "problem")
            for im, meth in enumerate(OPTIMIZERS):
                for jb, bsz in enumerate(batch_sizes):
                    grid = lr_grid(prob, meth, bsz, max(horizons), lrs_per_decade)
                    opts = [to_spec(o) for o in _optimizers(prob, meth, grid, bsz, engine)]
                    cases.append({"problem": to_spec(prob), "optimizer": opts})
                    meta.append((im, ia, ib, jb, grid))
                    widest = max(widest, len(grid))
    if not cases:
        raise ConfigError("alphas", "no (alpha, beta) with 2 alpha + 2 beta > 1")
    raw = {"name": "phase-diagram", "steps": int(max(horizons)), "points_per_decade": _PPD,
           "problem": cases[0]["problem"], "optimizer": cases[0]["optimizer"],
           "seeds": int(seeds), "simulate": engine == "simulation", "stack": widest,
           "theory": False if engine == "simulation" else "ode", "sweep": {"cases": cases}}
    return parse_study(raw, max_points=None), meta


def phase_diagram(
    alphas: Sequence[float],
    betas: Sequence[float],
    *,
    d: int = 256,
    m: int | None = None,
    batch_sizes: Sequence[int] = (1, 4, 16, 64),
    horizons: Sequence[int] = (100, 1000, 10_000, 100_000),
    sigma: float = 0.5,
    tie: float = 0.02,
    lrs_per_decade: int = 4,
    seed: int = 0,
    basis: str = "haar",
    engine: str = "ode",
    seeds: int = 2,
    store: str | Path | None = None,
    executor: Any = "inline",
    workers: int | None = None,
    checkpoint: str | Path | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Best constant-rate risks of SignSGD and SignSVD over an (alpha, beta) grid, and labels.

    The diagram is a sweep (:mod:`optdyn.sweep`) over the cases of :func:`phase_study`: it runs
    on any executor and, with a ``store``, resumes where an interrupted run stopped.

    Args:
        alphas: grid of spectrum exponents (lambda_j = j^(-2 alpha)); points with
            2 alpha + 2 beta <= 1 are left NaN (infinite initial risk as d grows).
        betas: grid of target exponents (target j^(-beta)).
        d: input dimension.
        m: output dimension (default m = 2d).
        batch_sizes: the batch sizes B of the (B, T) set over which "uniformly" is judged.
        horizons: the horizons T of that set.
        sigma: label-noise standard deviation (default 0.5: the template laws hold when label
            noise dominates; at sigma = 0 SignSVD's is measured 54% off on average,
            docs/muon.md, A1).
        tie: |log R_SignSGD - log R_SignSVD| below it counts as a tie (ignored in the label).
        lrs_per_decade: density of each method's learning-rate grid.
        seed: seed of the Haar basis and of the target's output directions.
        basis: K's eigenbasis, ``"haar"`` (generic, the default) or ``"identity"`` (axis-aligned:
            SignSGD's diagonal normalisation then preconditions by K^(1/2), docs/theory/muon.md
            section 2.3).
        engine: ``"ode"`` (the template theory through :func:`optdyn.theory.run`, seconds per
            point; ``"template"`` is its former name) or ``"simulation"`` (both methods
            simulated over the rate grid, ``seeds`` seeds: valid in every regime, minutes per
            point at d = 128).
        seeds: simulation seeds per rate (``engine="simulation"`` only).
        store: the sweep's store folder (kept; a later call with the same settings resumes
            from it, one with other settings is refused). None: a temporary folder.
        executor: where the cases run (:func:`optdyn.sweep.run`; default inline).
        workers: the executor's number of workers (:func:`optdyn.sweep.run`).
        checkpoint: former name of ``store`` (a ``.nc`` path; warns once; the folder of that
            name without the suffix is the store).
        progress: the sweep's progress display (default: a bar on a terminal, lines elsewhere).

    Returns:
        Dataset with ``risk`` and ``best_lr`` (optimizer, alpha, beta, batch_size, horizon),
        ``log_ratio`` = log R_SignSGD - log R_SignSVD, ``label`` (alpha, beta) in {-1, 0, 1}
        (``attrs["labels"]`` names them), ``edge`` (the best rate sat at a grid end), ``done``
        (the point was computed), and attrs with the settings, the candidate lines, the
        study's spec and the elapsed time.
    """
    from optdyn import sweep

    alphas = np.asarray(alphas, float)
    betas = np.asarray(betas, float)
    if alphas.ndim != 1 or betas.ndim != 1 or alphas.size == 0 or betas.size == 0:
        raise ConfigError("alphas", "alphas and betas must be non-empty 1-D sequences")
    if np.any(alphas <= 0) or not np.all(np.isfinite(betas)):
        raise ConfigError("alphas", "alpha must be > 0 and beta finite")
    engine = _engine(engine)
    if engine == "simulation" and (isinstance(seeds, bool) or int(seeds) < 1):
        raise ConfigError("seeds", f"must be a positive integer, got {seeds!r}")
    m = 2 * d if m is None else m
    bs = [int(b) for b in batch_sizes]
    hs = [int(t) for t in horizons]
    if any(b >= m for b in bs):
        raise ConfigError("batch_sizes", f"SignSVD's template needs B < m = {m}")
    if sorted(hs) != hs or hs[0] < 1:
        raise ConfigError("horizons", "must be increasing positive step counts")
    if checkpoint is not None:
        warn_moved("phase_diagram(checkpoint=FILE.nc)", "phase_diagram(store=FOLDER)")
        store = store or Path(checkpoint).with_suffix("")
    seeds = int(seeds) if engine == "simulation" else 1
    settings = json.dumps(dict(alphas=alphas.tolist(), betas=betas.tolist(), d=d, m=m,
                               batch_sizes=bs, horizons=hs, sigma=sigma,
                               lrs_per_decade=lrs_per_decade, seed=seed, basis=basis,
                               engine=engine, seeds=seeds if engine == "simulation" else 0))
    study, meta = phase_study(alphas, betas, d=d, m=m, batch_sizes=bs, horizons=hs,
                              sigma=sigma, lrs_per_decade=lrs_per_decade, seed=seed,
                              basis=basis, engine=engine, seeds=seeds)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = sweep.run(study, Path(store) if store is not None else Path(tmp) / "store",
                        executor=executor, workers=workers, resume=True, points_per_batch=64,
                        progress=progress)
    shape = (len(OPTIMIZERS), alphas.size, betas.size, len(bs), len(hs))
    risk = np.full(shape, np.nan)
    lr = np.full(shape, np.nan)
    edge = np.zeros(shape, bool)
    cases_done = np.zeros(shape[1:3], int)
    curves = out["risk"].mean("seed") if engine == "simulation" else out["theory_risk"]
    steps = out.step.values
    for case, (im, ia, ib, jb, grid) in enumerate(meta):
        if not bool(out["done"].values[case]):
            continue
        r, g = _best(grid, steps, curves.values[case], hs)
        risk[im, ia, ib, jb], lr[im, ia, ib, jb] = r, g
        edge[im, ia, ib, jb] = (g <= grid[0]) | (g >= grid[-1])
        cases_done[ia, ib] += 1
    done = cases_done == len(OPTIMIZERS) * len(bs)
    ds = _dataset(alphas, betas, bs, hs, risk, lr, edge, done, tie, time.perf_counter() - t0)
    method = ("template (optdyn.theory.laws.matrix)" if engine == "ode" else
              f"simulation (optdyn.simulate, {int(seeds)} seeds, seed-mean risk)")
    regime = ({"signsgd": MatrixSignSGDLaw.regime, "signsvd": SignSVDLaw.regime}
              if engine == "ode" else {"signsgd": "any (simulation)",
                                            "signsvd": "any (simulation)"})
    ds.attrs.update(
        kind="theory" if engine == "ode" else "simulation", method=method, engine=engine,
        seeds=int(seeds) if engine == "simulation" else 0, d=d, m=m, sigma=sigma, basis=basis,
        tie=tie, seed=seed, lrs_per_decade=lrs_per_decade, settings=settings,
        labels=json.dumps({str(k): v for k, v in LABELS.items()}),
        candidate_lines=json.dumps(candidate_lines()), regime=json.dumps(regime),
        study=json.dumps(study.document()))
    return ds


def _dataset(alphas: np.ndarray, betas: np.ndarray, bs: list[int], hs: list[int],
             risk: np.ndarray, lr: np.ndarray, edge: np.ndarray, done: np.ndarray, tie: float,
             elapsed: float) -> xr.Dataset:
    dims = ("optimizer", "alpha", "beta", "batch_size", "horizon")
    log_ratio = np.log(risk[0]) - np.log(risk[1])
    coords = {"optimizer": list(OPTIMIZERS), "alpha": alphas, "beta": betas, "batch_size": bs,
              "horizon": hs}
    ds = xr.Dataset(
        {"risk": (dims, risk), "best_lr": (dims, lr), "edge": (dims, edge),
         "log_ratio": (dims[1:], log_ratio), "label": (("alpha", "beta"),
                                                       _labels(log_ratio, tie)),
         "done": (("alpha", "beta"), done)},
        coords=coords)
    ds["risk"].attrs.update(long_name="min over constant lr of the risk at T")
    ds["log_ratio"].attrs.update(long_name="log R_SignSGD - log R_SignSVD (> 0: SignSVD wins)")
    ds["label"].attrs.update(long_name="phase", flag_values=[-1, 0, 1],
                             flag_meanings="SignSGD-favoured trade-off SignSVD-favoured")
    ds.attrs.update(elapsed_s=elapsed, tie=tie)
    return ds


def _labels(log_ratio: np.ndarray, tie: float) -> np.ndarray:
    """+1 / -1 / 0 per (alpha, beta) from the signs over (B, T), ties ignored; NaN where invalid."""
    flat = log_ratio.reshape(log_ratio.shape[:2] + (-1,))
    valid = np.all(np.isfinite(flat), axis=-1)
    pos = np.any(flat > tie, axis=-1)
    neg = np.any(flat < -tie, axis=-1)
    lab = np.where(pos & ~neg, 1.0, np.where(neg & ~pos, -1.0, 0.0))
    return np.where(valid, lab, np.nan)


def label_phases(ds: xr.Dataset, *, batch_sizes: Sequence[int] | None = None,
                 horizons: Sequence[int] | None = None, tie: float | None = None
                 ) -> xr.DataArray:
    """Relabel a phase diagram over a subset of its (B, T) set.

    The paper's "uniformly favoured" does not say what it ranges over (docs/theory/muon.md section
    3.2); e.g.
    ``label_phases(ds, horizons=[1000, 10000])`` judges only the long horizons. Labels as in
    :func:`phase_diagram`: +1 SignSVD-favoured, -1 SignSGD-favoured, 0 trade-off.
    """
    sub = ds.log_ratio
    for name, vals in (("batch_size", batch_sizes), ("horizon", horizons)):
        if vals is not None:
            missing = sorted(set(int(v) for v in vals) - set(sub[name].values.tolist()))
            if missing or len(vals) == 0:
                raise ConfigError(name, f"{missing or 'empty'}: not on the diagram's grid "
                                  f"{sub[name].values.tolist()}")
            sub = sub.sel({name: [int(v) for v in vals]})
    t = float(ds.attrs.get("tie", 0.02)) if tie is None else tie
    lab = _labels(sub.transpose("alpha", "beta", ...).values, t)
    return xr.DataArray(lab, coords={"alpha": ds.alpha, "beta": ds.beta}, dims=("alpha", "beta"),
                        attrs={"long_name": "phase", "batch_sizes": json.dumps(
                            sub.batch_size.values.tolist()), "horizons": json.dumps(
                            sub.horizon.values.tolist())})


def spot_check(ds: xr.Dataset, points: Sequence[tuple[float, float]], *, batch_size: int,
               horizon: int, seeds: int = 3, factors: Sequence[float] = (0.5, 1.0, 2.0),
               progress: bool | None = None) -> xr.Dataset:
    """Simulate both methods at sampled (alpha, beta) points of a phase diagram.

    Each method runs at the theory's best rate for (``batch_size``, ``horizon``) times each of
    ``factors`` (a local re-tuning), ``seeds`` seeds, on the diagram's d and m; the simulated
    winner (best mean risk over the factors) is compared with the theory's.

    Returns:
        Dataset over ``point`` with ``sim_risk`` and ``theory_risk`` (point, optimizer), and
        ``sim_log_ratio``, ``theory_log_ratio`` and ``agree`` (same sign).
    """
    from optdyn import simulate

    d, m, sigma, seed = int(ds.attrs["d"]), int(ds.attrs["m"]), float(ds.attrs["sigma"]), int(
        ds.attrs["seed"])
    basis = str(ds.attrs.get("basis", "haar"))
    if d < 256 or m < 2 * d:
        raise ConfigError("d", f"spot checks need d >= 256 and m >= 2d (got d={d}, m={m})")
    if batch_size not in ds.batch_size.values or horizon not in ds.horizon.values:
        raise ConfigError("horizon", f"batch_size {batch_size} and horizon {horizon} must be on "
                          f"the diagram's grid ({ds.batch_size.values.tolist()}, "
                          f"{ds.horizon.values.tolist()})")
    out_sim = np.full((len(points), 2), np.nan)
    out_th = np.full((len(points), 2), np.nan)
    for ip, (a, b) in enumerate(points):
        prob = _problem(a, b, d, m, sigma, seed, basis)
        sel = dict(alpha=a, beta=b, batch_size=batch_size, horizon=horizon)
        for im, meth in enumerate(OPTIMIZERS):
            g = float(ds.best_lr.sel(optimizer=meth).sel(sel))
            opts = _optimizers(prob, meth, [g * f for f in factors], batch_size, "simulation")
            sim = simulate.run(prob, opts, horizon, seeds=seeds, progress=progress)
            out_sim[ip, im] = float(sim.risk.isel(step=-1).mean("seed").min())
            out_th[ip, im] = float(ds.risk.sel(optimizer=meth).sel(sel))
    sim_lr = np.log(out_sim[:, 0]) - np.log(out_sim[:, 1])
    th_lr = np.log(out_th[:, 0]) - np.log(out_th[:, 1])
    res = xr.Dataset(
        {"sim_risk": (("point", "optimizer"), out_sim), "theory_risk": (("point", "optimizer"),
                                                                    out_th),
         "sim_log_ratio": ("point", sim_lr), "theory_log_ratio": ("point", th_lr),
         "agree": ("point", np.sign(sim_lr) == np.sign(th_lr))},
        coords={"point": np.arange(len(points)), "optimizer": list(OPTIMIZERS),
                "alpha": ("point", [p[0] for p in points]),
                "beta": ("point", [p[1] for p in points])})
    res.attrs.update(d=d, m=m, sigma=sigma, batch_size=batch_size, horizon=horizon, seeds=seeds,
                     factors=json.dumps(list(factors)))
    return res
