"""``optdyn.theory.run``: deterministic risk curves on the simulation engine's coordinates."""

from __future__ import annotations

import json
import math
import time
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn._core.results import RISK_CONVENTION, common_attrs, step_coords
from optdyn.optimizers.base import Optimizer
from optdyn.theory.integrator import integrate
from optdyn.theory.laws import SGDLaw, law_for

__all__ = ["run", "run_available", "METHODS"]

METHODS = ("ode", "exact", "mean-field")


def _as_list(optimizer: Any, problem: Any = None) -> tuple[list[Optimizer], bool]:
    single = not isinstance(optimizer, list | tuple)
    opts = [optimizer] if single else list(optimizer)
    if not opts:
        raise ConfigError("optimizer", "the list of optimizers is empty")
    for i, o in enumerate(opts):
        where = "optimizer" if single else f"optimizer[{i}]"
        if law_for(o, problem) is None:
            raise ConfigError(where, f"optdyn has no risk-curve theory for {type(o).__name__} "
                              f"on {type(problem).__name__}; theory.run covers SGD, ClippedSGD "
                              "and SignSGD on LinearRegression, and SGD, SignSGD and SignSVD on "
                              "MatrixRegression (method='mean-field' also covers Muon there)")
    return opts, single


def _group_key(law: Any, o: Optimizer) -> tuple:
    leaves = jax.tree_util.tree_leaves(o)
    return (law, jax.tree_util.tree_structure(o), tuple(np.shape(x) for x in leaves))


def _stack(items: list[Any]) -> Any:
    return jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *items)


def run(
    problem: Any,
    optimizer: Any,
    steps: int,
    method: str = "ode",
    *,
    points_per_decade: int = 10,
    rtol: float = 1e-6,
    max_substeps: int = 2_000_000,
    divergence_threshold: float | None = None,
    **mean_field: Any,
) -> xr.Dataset:
    """The deterministic risk curve(s) that high-dimensional theory predicts.

    Args:
        problem: a :class:`optdyn.problems.LinearRegression`, or a
            :class:`optdyn.problems.MatrixRegression` (matrix least squares, arXiv 2605.09552).
        optimizer: on LinearRegression an ``SGD`` (momentum 0), ``ClippedSGD`` (per-sample,
            constant threshold) or ``SignSGD`` (batch 1); on MatrixRegression an ``SGD``,
            ``SignSGD`` or ``SignSVD`` (any batch size; :mod:`optdyn.theory.laws.matrix`); or a
            list of them (result gets a ``config`` dimension); configs
            of one kind and structure (e.g. a learning-rate grid) are integrated in one compiled,
            vmapped call. Learning-rate schedules are evaluated at continuous step counts.
        steps: horizon in optimizer steps.
        method: ``"ode"`` (the mode ODE of each law, :mod:`optdyn.theory.integrator`) or
            ``"exact"`` (SGD only: the exact expected-risk recursion for Gaussian data, valid at
            any learning rate and dimension), or ``"mean-field"`` (MatrixRegression only: the
            mean-field recursion of :mod:`optdyn.theory.mean_field`, which takes its own options
            as keyword arguments). ``attrs["regime"]`` says where each law is claimed to hold.
        points_per_decade: output grid, identical to :func:`optdyn.simulate.run`'s.
        rtol: local relative error tolerance of the integrator on R per step (the global
            relative error is about 10 rtol on smooth curves).
        max_substeps: step limit per config (a config that reaches it is reported as NaN).
        divergence_threshold: R above it is reported as diverged (default 1e10 max(R0, 1)).

    Returns:
        ``xarray.Dataset`` with ``risk`` (dims ``config``, ``step``; no ``config`` for a single
        optimizer), ``loss`` where E[eps^2] is finite, ``diverged``, ``diverged_step``,
        ``limit_risk`` (fixed point at a constant rate, NaN for schedules), ``critical_lr``
        (inf where the law never diverges) and ``n_substeps``, on the coordinates of
        :func:`optdyn.simulate.run`; ``attrs["kind"] == "theory"``.
    """
    if method not in METHODS:
        raise ConfigError("method", f"expected one of {METHODS}, got {method!r}")
    if method == "mean-field":
        from optdyn.theory.mean_field import run as mean_field_run

        return mean_field_run(problem, optimizer, steps, points_per_decade=points_per_decade,
                              **mean_field)
    if mean_field:
        raise ConfigError("method", f"options {sorted(mean_field)} are for method='mean-field'")
    opts, single = _as_list(optimizer, problem)
    ckpts = checkpoint_steps(steps, points_per_decade)
    if not (isinstance(rtol, float | int) and 0 < rtol < 1):
        raise ConfigError("rtol", f"must lie in (0, 1), got {rtol!r}")
    r0 = float(problem.initial_risk)
    threshold = 1e10 * max(r0, 1.0) if divergence_threshold is None else divergence_threshold
    if not threshold > 0:
        raise ConfigError("divergence_threshold", f"must be > 0, got {divergence_threshold!r}")

    laws = [law_for(o, problem) for o in opts]
    for i, (law, o) in enumerate(zip(laws, opts, strict=True)):
        where = "optimizer" if single else f"optimizer[{i}]"
        if method == "exact" and law is not SGDLaw:
            raise ConfigError("method", f"the exact recursion exists for SGD on Gaussian data; "
                              f"{where} is {type(o).__name__} (use method='ode')")
        law.check(problem, o, where)

    n_c, n_k = len(opts), len(ckpts)
    risk = np.full((n_c, n_k), np.nan)
    status = np.zeros(n_c, int)
    n_sub = np.zeros(n_c, int)
    t0 = time.perf_counter()
    groups: dict[tuple, list[int]] = {}
    for i, (law, o) in enumerate(zip(laws, opts, strict=True)):
        groups.setdefault(_group_key(law, o), []).append(i)
    for key, idx in groups.items():
        law = key[0]
        modes = law.modes_for(problem, opts[idx[0]])
        params = _stack([law.params(problem, opts[i]) for i in idx])
        if method == "exact":
            out = SGDLaw.exact_curves(params, modes.weights, modes.v0, ckpts)
            risk[idx] = np.asarray(out)
            n_sub[idx] = steps
        else:
            out, st, ns, _ = integrate(law.coeff, params, modes.weights, modes.drift,
                                       modes.loads, modes.v0, ckpts.astype(float), rtol=rtol,
                                       max_substeps=max_substeps, threshold=threshold)
            risk[idx], status[idx], n_sub[idx] = np.asarray(out), np.asarray(st), np.asarray(ns)
    elapsed = time.perf_counter() - t0

    bad = ~np.isfinite(risk) | (risk > threshold)
    bad &= ~np.isnan(risk) | (status[:, None] == 1)
    first = np.where(bad.any(-1), bad.argmax(-1), n_k)
    diverged = first < n_k
    risk = np.where(np.arange(n_k) >= first[:, None], np.inf, risk)
    div_step = np.where(diverged, ckpts[np.minimum(first, n_k - 1)], -1)

    if method == "exact":
        limit = [SGDLaw.exact_limit_risk(problem, o) for o in opts]
        crit = [SGDLaw.exact_critical_lr(problem, o) for o in opts]
    else:
        limit = [law.limit_risk(problem, o) for law, o in zip(laws, opts, strict=True)]
        crit = [law.critical_lr(problem, o) for law, o in zip(laws, opts, strict=True)]
    for i in np.flatnonzero(diverged):
        warnings.warn(f"{opts[i].label()} diverged at step {div_step[i]}: its risk exceeds "
                      f"{threshold:.3g}; the critical learning rate of {method} theory is "
                      f"{crit[i]:.6g}", stacklevel=2)
    for i in np.flatnonzero(status == 2):
        warnings.warn(f"{opts[i].label()}: the integrator stopped after {n_sub[i]} steps "
                      "(max_substeps or failed error control); later checkpoints are NaN",
                      stacklevel=2)

    coords = step_coords(problem.d, opts, ckpts)
    data: dict[str, Any] = {
        "risk": (("config", "step"), risk),
        "diverged": ("config", diverged),
        "diverged_step": ("config", div_step),
        "limit_risk": ("config", np.asarray(limit, dtype=float)),
        "critical_lr": ("config", np.asarray(crit, dtype=float)),
        "n_substeps": ("config", n_sub),
    }
    m2 = problem.noise_second_moment
    if math.isfinite(m2):
        data["loss"] = (("config", "step"), risk + 0.5 * m2)
    ds = xr.Dataset(data, coords=coords)
    ds["risk"].attrs.update(long_name="excess population risk (theory)",
                            convention=RISK_CONVENTION)
    ds["t"].attrs.update(long_name="t = samples / d")
    ds["limit_risk"].attrs.update(description="fixed point of the risk at a constant learning "
                                  "rate (NaN for schedules, inf above the critical rate)")
    ds["critical_lr"].attrs.update(description="largest constant per-step learning rate with "
                                   "a bounded risk (inf: never diverges)")
    config = {
        "problem": problem.to_config(),
        "optimizers": [o.to_config() for o in opts],
        "steps": int(steps),
        "points_per_decade": points_per_decade,
        "method": method,
        "rtol": rtol,
        "laws": [law.name for law in laws],
    }
    regimes = {law.name: law.regime for law in laws if law.regime}
    ds.attrs.update(**common_attrs("theory", problem.d, json.dumps(config, default=str),
                                   elapsed), method=method, dtype="float64",
                    regime=json.dumps(regimes))
    if single:
        ds = ds.isel(config=0)
    return ds


def run_available(
    problem: Any,
    optimizers: list[Any],
    steps: int,
    method: str = "ode",
    *,
    points_per_decade: int = 10,
    **kwargs: Any,
) -> xr.Dataset:
    """Theory curves for every config of a list that has a theory, NaN for the others.

    The result has the same ``config`` coordinate (and labels) as a simulation of the whole list,
    so that ``optdyn run`` can overlay theory on a mixed experiment (e.g. SGD, signSGD and Adam).
    With ``method="exact"`` the SGD configs use the exact recursion and the others their ODE.
    ``attrs["has_theory"]`` lists which configs have a curve.
    """
    if method not in ("ode", "exact"):
        raise ConfigError("method", f"expected 'ode' or 'exact', got {method!r}")
    ok = [i for i, o in enumerate(optimizers) if law_for(o, problem) is not None]
    parts = []
    for meth in ("exact", "ode"):
        idx = [i for i in ok if (meth == "exact") == (method == "exact" and
                                                       law_for(optimizers[i], problem) is SGDLaw)]
        if idx:
            part = run(problem, [optimizers[i] for i in idx], steps, meth,
                       points_per_decade=points_per_decade, **kwargs)
            parts.append(part.assign_coords(config=idx))
    full = np.arange(len(optimizers))
    if parts:
        ds = xr.concat(parts, dim="config", coords="minimal", compat="override")
        ds = ds.sortby("config").reindex(config=full)
    else:
        ds = xr.Dataset(coords={"config": full, "step": checkpoint_steps(steps,
                                                                           points_per_decade)})
    ds = ds.assign_coords(label=("config", [o.label() for o in optimizers]))
    ds.attrs["has_theory"] = json.dumps([i in ok for i in full])
    return ds
