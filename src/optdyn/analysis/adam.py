"""The conjectured Adam risk curve (not a theorem): a thin helper over ``theory.run``, and the
plateau study that judges the conjecture where its diffusion factor matters most.

The law (c_A, s_A by Monte Carlo, the signSGD linearisation) is
:class:`optdyn.theory.laws.adam.AdamLaw`, written up in ``docs/theory/signsgd.md`` section 8;
:func:`run` only names it for a study and checks the optimizer. :func:`plateau_table` runs Adam
long enough to sit on its stationary risk floor at a constant lr and measures theory against
simulation there (findings: ``docs/adam.md``).

At a constant lr the conjectured ODE has the fixed point (``docs/theory/signsgd.md`` sections
4.5 and 8)

    R c_A(R) = (lr / 4) s_A(R) sum_i sqrt(K_ii),

so on the plateau only the ratio s_A / c_A is tested; the transient tests c_A alone. Given the
law's c_A, the long-run variance that would put the fixed point on the simulated plateau R_sim is
``s_match = 4 R_sim c_A(R_sim) / (lr sum_i sqrt(K_ii))``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from optdyn import io, simulate, theory
from optdyn._core.errors import ConfigError
from optdyn._core.results import common_attrs
from optdyn.analysis.compare import diverged_fraction, relative_error
from optdyn.noise import Gaussian, NoiseLaw, StudentT
from optdyn.optimizers import Adam
from optdyn.problems import LinearRegression
from optdyn.theory.laws._noise_scale import noise_scale2
from optdyn.theory.laws.adam import AdamLaw, adam_factors

__all__ = ["adam_factors", "run", "PLATEAU_BETAS", "PLATEAU_NOISES", "plateau_problem",
           "fixed_point", "plateau_table"]

#: the (b1, b2) configs of the plateau study
PLATEAU_BETAS: tuple[tuple[float, float], ...] = ((0.9, 0.999), (0.9, 0.99), (0.0, 0.99))
#: the label-noise laws of the plateau study (those of tests/test_theory_vs_simulation.py)
PLATEAU_NOISES: dict[str, NoiseLaw] = {"gaussian": Gaussian(0.5),
                                       "student_t3": StudentT(3.0, 0.5)}


def run(problem: Any, optimizer: Adam, steps: int, *, points_per_decade: int = 10,
        rtol: float = 1e-6, mc_chains: int = 2048, mc_points: int = 9) -> xr.Dataset:
    """``theory.run(problem, optimizer, steps, "conjecture")``: the conjectured Adam curve.

    ``mc_chains`` Monte Carlo chains at each of ``mc_points`` risks (log grid over 8 decades
    around the noise scale) estimate c_A and s_A when b1 or b2 > 0. Requires a constant learning
    rate and batch size 1 (the signSGD setting); ``attrs["method"] == "conjecture"``.
    """
    if not isinstance(optimizer, Adam):
        raise ConfigError("optimizer", f"expected an Adam, got {type(optimizer).__name__}")
    return theory.run(problem, optimizer, steps, "conjecture", points_per_decade=points_per_decade,
                      rtol=rtol, mc_chains=mc_chains, mc_points=mc_points)


def plateau_problem(d: int, noise: NoiseLaw) -> LinearRegression:
    """The problem of the ``signsgd-adam`` figure: diagonal K with K_jj log-uniform on [1/4, 4]
    (seed 0), theta* = 2 N(0, I) / sqrt(d) (seed 1), theta0 = 0 (R0 about 2.7)."""
    lam = np.exp(np.random.default_rng(0).uniform(math.log(0.25), math.log(4.0), d))
    ts = 2.0 * np.random.default_rng(1).standard_normal(d) / math.sqrt(d)
    return LinearRegression(eigenvalues=lam, theta_star=ts, theta0=np.zeros(d), noise=noise)


def _sum_sqrt_diag(problem: LinearRegression) -> float:
    diag = problem.eigenvalues if problem.basis is None else np.einsum(
        "ij,j,ij->i", problem.basis, problem.eigenvalues, problem.basis)
    return float(np.sum(np.sqrt(diag)))


def _law_factors(problem: LinearRegression, opt: Adam, mc_chains: int, mc_points: int
                 ) -> Any:
    """R -> (c_A(R), s_A(R)) of the law's tables (the tables the ODE integrates)."""
    p = AdamLaw.params_with(problem, opt, {"mc_chains": mc_chains, "mc_points": mc_points})

    def factors(r: float) -> tuple[float, float]:
        c, s = AdamLaw.factors(np.asarray([r], float), p)
        return float(np.asarray(c).ravel()[0]), float(np.asarray(s).ravel()[0])

    return factors


def fixed_point(problem: LinearRegression, opt: Adam, *, mc_chains: int = 2048,
                mc_points: int = 9) -> float:
    """The conjecture's plateau: the root of R c_A(R) = (lr / 4) s_A(R) sum_i sqrt(K_ii), with
    the law's tables for these Monte Carlo options (at b1 = b2 = 0 the signSGD limit risk)."""
    AdamLaw.check(problem, opt, "optimizer")
    lr = float(np.asarray(opt.lr.value))
    factors = _law_factors(problem, opt, mc_chains, mc_points)
    a = 0.25 * lr * _sum_sqrt_diag(problem)

    def f(u: float) -> float:
        c, s = factors(math.exp(u))
        return u + math.log(max(c, 1e-300)) - math.log(a * s)

    lo = math.log(noise_scale2(problem.noise)) - 40.0
    return math.exp(brentq(f, lo, lo + 80.0, xtol=1e-12))


def plateau_table(noises: Mapping[str, NoiseLaw] | None = None,
                  betas: Sequence[tuple[float, float]] = PLATEAU_BETAS, *, d: int = 1000,
                  lr_scale: float = 1.0, horizon: float = 40.0, seeds: int = 32,
                  mc_chains: int = 2048, mc_points: int = 9, check_chains: int = 0,
                  points_per_decade: int = 10, dtype: str = "float32",
                  path: str | PathLike | None = None) -> xr.Dataset:
    """Theory against simulation on Adam's plateau, per (b1, b2) config and noise law.

    For each noise law the problem is :func:`plateau_problem` (d), Adam has lr = lr_scale / d,
    eps = 0 and the optax convention (bias correction), and both engines run ``steps = horizon
    * d`` steps on the same checkpoint grid: :func:`optdyn.simulate.run` with ``seeds`` seeds
    and :func:`optdyn.theory.run` with ``method="conjecture"`` (Monte Carlo options
    ``mc_chains``, ``mc_points``). The plateau is the mean of the risk over the checkpoints of
    the last decade of steps (step >= steps / 10); its standard error is that of the seeds'
    own last-decade means (seeds are independent). ``check_chains > 0`` also runs the law's
    Monte Carlo estimator directly at the simulated plateau with that many chains (an
    independent estimate of c_A and s_A there, free of the tables' grid and of their chains).

    Returns an ``xarray.Dataset`` over (``b1b2``, ``noise``) (coordinates ``b1``, ``b2`` along
    ``b1b2``) with ``plateau_sim``, ``plateau_sim_se``, ``plateau_theory``, ``plateau_ratio``
    (theory / simulation) and its standard error, ``mean_rel_error`` and ``max_rel_error`` (the
    metric of :mod:`optdyn.analysis.compare` over the whole curve) and the same over the
    transient (step < steps / 10) only, ``fixed_point`` (:func:`fixed_point`), ``c_A`` and
    ``s_A`` (the law's tables at the simulated plateau), ``s_match`` (the s_A that would put the
    fixed point on the simulated plateau, with ``s_match_se``), ``c_A_mc`` and ``s_A_mc`` (the
    direct estimate, NaN unless ``check_chains``), ``diverged`` (fraction of seeds), and the
    curves ``risk_sim`` (seed mean), ``risk_sim_se`` and ``risk_theory`` over ``step``.
    ``attrs``: the common result attributes (``kind="analysis"``), the settings, the law's
    regime and the definitions. Saved with :func:`optdyn.io.save` when ``path`` is given.
    """
    noises = dict(PLATEAU_NOISES if noises is None else noises)
    betas = [(float(b1), float(b2)) for b1, b2 in betas]
    if not noises or not betas:
        raise ConfigError("noises", "the plateau table needs at least one noise law and one "
                          "(b1, b2) config")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise ConfigError("seeds", f"needs at least 2 seeds for a standard error, got {seeds!r}")
    steps = int(round(horizon * d))
    if steps < 100:
        raise ConfigError("horizon", f"horizon * d = {steps} steps is too short for a plateau")
    lr = float(lr_scale) / d
    t0 = time.perf_counter()
    n_b, n_n = len(betas), len(noises)
    names = ["plateau_sim", "plateau_sim_se", "plateau_theory", "mean_rel_error",
             "max_rel_error", "mean_rel_error_transient", "max_rel_error_transient",
             "fixed_point", "c_A", "s_A", "s_match", "s_match_se", "c_A_mc", "s_A_mc",
             "diverged"]
    out = {k: np.full((n_b, n_n), np.nan) for k in names}
    curves: dict[str, list[np.ndarray]] = {"risk_sim": [], "risk_sim_se": [], "risk_theory": []}
    regime: dict[str, str] = {}
    timing: dict[str, float] = {}
    ckpts = t_coord = None
    for j, (noise_name, nz) in enumerate(noises.items()):
        problem = plateau_problem(d, nz)
        opts = [Adam(lr, b1=b1, b2=b2, eps=0.0) for b1, b2 in betas]
        ts = time.perf_counter()
        sim = simulate.run(problem, opts, steps, seeds=seeds, dtype=dtype,
                           points_per_decade=points_per_decade, progress=False, stack=n_b)
        tt = time.perf_counter()
        th = theory.run(problem, opts, steps, "conjecture", points_per_decade=points_per_decade,
                        mc_chains=mc_chains, mc_points=mc_points, stack=n_b)
        timing[f"simulation_{noise_name}_s"] = tt - ts
        timing[f"theory_{noise_name}_s"] = time.perf_counter() - tt
        regime.update(json.loads(th.attrs["regime"]))
        ckpts, t_coord = sim.step.values, sim.t.values
        tail = ckpts >= steps // 10
        risk = sim.risk.where(np.isfinite(sim.risk)).values  # (config, seed, step)
        per_seed = risk[:, :, tail].mean(-1)
        n_ok = np.sum(np.isfinite(per_seed), axis=1)
        out["plateau_sim"][:, j] = np.nanmean(per_seed, axis=1)
        out["plateau_sim_se"][:, j] = np.nanstd(per_seed, axis=1, ddof=1) / np.sqrt(n_ok)
        out["plateau_theory"][:, j] = th.risk.values[:, tail].mean(-1)
        out["mean_rel_error"][:, j] = relative_error(sim, th, reduce="mean")
        out["max_rel_error"][:, j] = relative_error(sim, th, reduce="max")
        rel = relative_error(sim, th, reduce="none")  # checkpoints k > 0
        early = ~tail[ckpts > 0]
        out["mean_rel_error_transient"][:, j] = np.nanmean(rel[:, early], axis=-1)
        out["max_rel_error_transient"][:, j] = np.nanmax(rel[:, early], axis=-1)
        out["diverged"][:, j] = diverged_fraction(sim)
        curves["risk_sim"].append(np.nanmean(risk, axis=1))
        curves["risk_sim_se"].append(np.nanstd(risk, axis=1, ddof=1)
                                     / np.sqrt(np.sum(np.isfinite(risk), axis=1)))
        curves["risk_theory"].append(th.risk.values)
        a = 0.25 * lr * _sum_sqrt_diag(problem)
        for i, (opt, (b1, b2)) in enumerate(zip(opts, betas, strict=True)):
            out["fixed_point"][i, j] = fixed_point(problem, opt, mc_chains=mc_chains,
                                                   mc_points=mc_points)
            factors = _law_factors(problem, opt, mc_chains, mc_points)
            r_sim, r_se = out["plateau_sim"][i, j], out["plateau_sim_se"][i, j]
            c, s = factors(r_sim)
            out["c_A"][i, j], out["s_A"][i, j] = c, s
            out["s_match"][i, j] = r_sim * c / a
            hi, lo = r_sim + r_se, max(r_sim - r_se, 0.5 * r_sim)
            out["s_match_se"][i, j] = 0.5 * abs(hi * factors(hi)[0] - lo * factors(lo)[0]) / a
            if check_chains:
                x = math.log10(r_sim / noise_scale2(nz))
                f = adam_factors(nz, b1, b2, points=1, decades=(x, x), chains=check_chains,
                                 seed=1)
                out["c_A_mc"][i, j], out["s_A_mc"][i, j] = float(f["c"][0]), float(f["s"][0])
    dims = ("b1b2", "noise")
    data: dict[str, Any] = {k: (dims, v) for k, v in out.items()}
    ratio = out["plateau_theory"] / out["plateau_sim"]
    data["plateau_ratio"] = (dims, ratio)
    data["plateau_ratio_se"] = (dims, ratio * out["plateau_sim_se"] / out["plateau_sim"])
    for k, v in curves.items():
        data[k] = (("noise", "b1b2", "step"), np.stack(v))
    coords = {"b1b2": [f"{b1:g}/{b2:g}" for b1, b2 in betas],
              "b1": ("b1b2", [b for b, _ in betas]), "b2": ("b1b2", [b for _, b in betas]),
              "noise": list(noises), "step": ckpts, "t": ("step", t_coord)}
    ds = xr.Dataset(data, coords=coords).transpose("b1b2", "noise", "step")
    desc = {
        "plateau_sim": "mean over seeds of each seed's mean risk over the checkpoints with "
                       "step >= steps / 10 (the last decade)",
        "plateau_sim_se": "standard error of plateau_sim over the seeds",
        "plateau_theory": "mean of the conjectured ODE's risk over the same checkpoints",
        "plateau_ratio": "plateau_theory / plateau_sim",
        "plateau_ratio_se": "standard error of plateau_ratio (from plateau_sim_se)",
        "mean_rel_error": "mean over checkpoints k > 0 of |mean_seeds R_sim / R_theory - 1| "
                          "(optdyn.analysis.compare.relative_error)",
        "max_rel_error": "max of the same over the whole curve",
        "mean_rel_error_transient": "mean of the same over 0 < step < steps / 10",
        "max_rel_error_transient": "max of the same over 0 < step < steps / 10",
        "fixed_point": "root of R c_A(R) = (lr/4) s_A(R) sum_i sqrt(K_ii) with the law's tables",
        "c_A": "the law's drift slope c_A at R = plateau_sim",
        "s_A": "the law's long-run variance s_A at R = plateau_sim",
        "s_match": "4 R_sim c_A(R_sim) / (lr sum_i sqrt(K_ii)): the s_A whose fixed point is "
                   "the simulated plateau, given the law's c_A",
        "s_match_se": "standard error of s_match (from plateau_sim_se)",
        "c_A_mc": "direct Monte Carlo of c_A at R = plateau_sim (check_chains chains)",
        "s_A_mc": "direct Monte Carlo of s_A at R = plateau_sim (check_chains chains)",
        "diverged": "fraction of seeds diverged at the last checkpoint",
        "risk_sim": "seed-mean simulated risk",
        "risk_sim_se": "standard error of risk_sim over the seeds",
        "risk_theory": "the conjectured ODE's risk",
    }
    for k, v in desc.items():
        ds[k].attrs["description"] = v
    elapsed = time.perf_counter() - t0
    config = {"noises": {k: v.to_config() for k, v in noises.items()},
              "betas": [list(b) for b in betas], "d": d, "lr_scale": lr_scale, "lr": lr,
              "horizon": horizon, "steps": steps, "seeds": seeds, "mc_chains": mc_chains,
              "mc_points": mc_points, "check_chains": check_chains,
              "points_per_decade": points_per_decade, "dtype": dtype}
    ds.attrs.update(**common_attrs("analysis", d, json.dumps(config, default=str), elapsed),
                    study="adam_plateau", lr=lr, steps=steps, horizon=horizon, seeds=seeds,
                    mc_chains=mc_chains, mc_points=mc_points, check_chains=check_chains,
                    problem="plateau_problem(d, noise): diagonal K, K_jj log-uniform [1/4, 4], "
                            "theta* = 2 N(0, I)/sqrt(d), theta0 = 0; Adam eps = 0",
                    plateau_window=f"steps >= {steps // 10} (the last decade)",
                    regime=json.dumps(regime), timing=json.dumps(timing))
    if path is not None:
        io.save(ds, path)
    return ds
