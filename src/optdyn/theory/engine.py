"""``optdyn.theory.run``: deterministic risk curves on the simulation engine's coordinates."""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import jax
import numpy as np
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn.optimizers.base import Optimizer
from optdyn.theory.integrator import integrate, integrate_block
from optdyn.theory.laws import LAWS, law_for
from optdyn.theory.result import curves

__all__ = ["run", "run_available", "METHODS"]

METHODS = ("ode", "exact", "mean-field", "conjecture")


def _as_list(optimizer: Any, problem: Any = None, method: str | None = None
             ) -> tuple[list[Optimizer], bool]:
    single = not isinstance(optimizer, list | tuple)
    opts = [optimizer] if single else list(optimizer)
    if not opts:
        raise ConfigError("optimizer", "the list of optimizers is empty")
    for i, o in enumerate(opts):
        where = "optimizer" if single else f"optimizer[{i}]"
        if law_for(o, problem, method) is None:
            other = [m for m in METHODS if law_for(o, problem, m) is not None]
            hint = (f"; its theory there has method(s) {other}" if other else
                    "; theory.run covers SGD (also with heavy-ball or Nesterov momentum), "
                    "DANA, ClippedSGD and SignSGD on LinearRegression (Adam with "
                    "method='conjecture'), and SGD, SignSGD and SignSVD on "
                    "MatrixRegression (method='mean-field' also covers Muon there)")
            raise ConfigError(where, f"optdyn has no risk-curve theory for {type(o).__name__} "
                              f"on {type(problem).__name__} by method={method!r}{hint}")
    return opts, single


def _group_key(law: Any, o: Optimizer) -> tuple:
    leaves = jax.tree_util.tree_leaves(o)
    return (law, jax.tree_util.tree_structure(o), tuple(np.shape(x) for x in leaves))


def _stack(items: list[Any]) -> Any:
    # stacked in NumPy and handed over as device arrays: no eager JAX operation (each would
    # compile a small program), and device arrays skip the constructors' input checks
    return jax.tree_util.tree_map(
        lambda *xs: jax.device_put(np.stack([np.asarray(x) for x in xs])), *items)


def _output_grid(steps: Any, at: Any, points_per_decade: int) -> np.ndarray:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ConfigError("steps", f"must be a positive integer, got {steps!r}")
    if at is None:
        return checkpoint_steps(int(steps), points_per_decade)
    grid = np.asarray(at)
    if (grid.ndim != 1 or grid.size < 2 or not np.issubdtype(grid.dtype, np.integer)
            or grid[0] != 0 or grid[-1] != steps or np.any(np.diff(grid) <= 0)):
        raise ConfigError("at", f"expected increasing integer steps from 0 to steps = {steps}, "
                          f"got {at!r}")
    return grid.astype(np.int64)


def _split_options(laws: list[Any], method: str, options: dict[str, Any]) -> dict[str, Any]:
    """The law options with their defaults; an option no law of the run accepts is an error."""
    known: dict[str, Any] = {}
    for law in laws:
        known.update(law.options)
    unknown = sorted(set(options) - set(known))
    if unknown:
        where = sorted({m for law in LAWS if unknown[0] in law.options for m in law.methods})
        hint = f"; it is an option of method {where}" if where else ""
        raise ConfigError(unknown[0], f"is not an option of method={method!r} for "
                          f"{sorted({law.name for law in laws})} (options: {sorted(known)})"
                          f"{hint}")
    return {**known, **options}


def _solve(method: str, law: Any, problem: Any, opts: list[Any], ckpts: np.ndarray,
           options: dict[str, Any], rtol: float, max_substeps: int, threshold: float,
           progress: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """One group of configs: the mode ODE through the one integrator, or the law's own solver
    (an exact recursion, a mean-field recursion)."""
    if method == "ode" and getattr(law, "block_size", 1) > 1:
        bm = law.block_modes(problem)
        params = _stack([law.params_with(problem, o, options) for o in opts])
        out, st, ns, _ = integrate_block(law.block, law.feedback, params, bm.data, bm.weights,
                                         bm.v0, ckpts.astype(float), rtol=rtol,
                                         max_substeps=max_substeps, threshold=threshold)
        return np.asarray(out), np.asarray(st), np.asarray(ns), {}
    if method in ("ode", "conjecture"):
        modes = law.modes_for(problem, opts[0])
        params = _stack([law.params_with(problem, o, options) for o in opts])
        out, st, ns, _ = integrate(law.coeff, params, modes.weights, modes.drift, modes.loads,
                                   modes.v0, ckpts.astype(float), rtol=rtol,
                                   max_substeps=max_substeps, threshold=threshold)
        return np.asarray(out), np.asarray(st), np.asarray(ns), {}
    return law.solve(method, problem, opts, ckpts, options, progress=progress)


def run(
    problem: Any,
    optimizer: Any,
    steps: int,
    method: str = "ode",
    *,
    at: Any = None,
    points_per_decade: int = 10,
    rtol: float = 1e-6,
    max_substeps: int = 2_000_000,
    divergence_threshold: float | None = None,
    stack: int | None = None,
    progress: bool | None = None,
    **options: Any,
) -> xr.Dataset:
    """The deterministic risk curve(s) that high-dimensional theory predicts.

    Every deterministic curve of optdyn comes from here: the law of each config (keyed on the
    optimizer's type, or on a policy object such as a clipping-threshold policy) supplies the
    coefficients, the method picks the solver, and one result builder
    (:func:`optdyn.theory.result.curves`) writes the Dataset.

    Args:
        problem: a :class:`optdyn.problems.LinearRegression`, or a
            :class:`optdyn.problems.MatrixRegression` (matrix least squares, arXiv 2605.09552).
        optimizer: on LinearRegression an ``SGD`` (with or without heavy-ball or Nesterov
            momentum, :mod:`.laws.momentum`), a ``DANA`` (:mod:`.laws.dana`), ``ClippedSGD``
            (per-sample, constant threshold), ``SignSGD`` (any batch size B << d), ``Adam``
            (``method="conjecture"``) or a policy object
            (:class:`~optdyn.theory.laws.clip_policy.ClippingPolicy`,
            :class:`~optdyn.theory.laws.sign_rate.ConstantEffectiveRate`); on MatrixRegression
            an ``SGD``, ``SignSGD`` or ``SignSVD`` (any batch size; :mod:`.laws.matrix`), and
            with ``method="mean-field"`` also ``Muon``; or a list of them (the result gets a
            ``config`` dimension). Configs of one kind and structure (e.g. a learning-rate
            grid) are integrated in one compiled, vmapped call. Schedules are evaluated at
            continuous step counts.
        steps: horizon in optimizer steps.
        method: ``"ode"`` (the mode ODE of each law, :mod:`optdyn.theory.integrator`),
            ``"exact"`` (SGD, SGD with momentum, DANA: the exact expected-risk recursion for
            Gaussian data, valid at any learning rate, momentum and dimension),
            ``"mean-field"`` (MatrixRegression: the recursions of
            :mod:`optdyn.theory.mean_field`) or ``"conjecture"`` (Adam: a law that is not
            derived, see :mod:`.laws.adam`). ``attrs["regime"]`` says where each law is claimed
            to hold.
        at: explicit output steps (increasing integers from 0 to ``steps``) instead of the
            checkpoint grid (used to replay a risk-driven schedule step by step).
        points_per_decade: output grid, identical to :func:`optdyn.simulate.run`'s.
        rtol: local relative error tolerance of the integrator on R per step (the global
            relative error is about 10 rtol on smooth curves).
        max_substeps: step limit per config (a config that reaches it is reported as NaN).
        divergence_threshold: R above it is reported as diverged (default 1e10 max(R0, 1)).
        stack: integrate configs of one law and structure in vmapped stacks of exactly this
            many (the last padded with copies of its first): XLA picks its kernels (the
            mode sums as matrix-vector or matrix-matrix products) by the stack's width, so a
            fixed width makes each config's float64 numbers independent, to the bit, of the
            other configs it runs with (what sweeps use; :func:`optdyn.simulate.run` has the
            same option).
        progress: for solvers that take long (the mean-field recursion): True shows a bar on
            a terminal, False hides progress, None (default) shows a bar for long work on a
            terminal and a line every 10 s elsewhere. The ODE needs none (milliseconds).
        **options: law options (e.g. ``drift``, ``n_mc``, ``seed`` of the mean-field recursion;
            ``mc_chains``, ``mc_points`` of the Adam conjecture).

    Returns:
        ``xarray.Dataset`` with ``risk`` (dims ``config``, ``step``; no ``config`` for a single
        optimizer), ``loss`` where E[eps^2] is finite, ``diverged``, ``diverged_step``,
        ``limit_risk`` (fixed point at a constant rate, NaN for schedules), ``critical_lr``
        (inf where the law never diverges), ``n_substeps`` and any per-law extras (``rho`` of
        the mean-field recursion), on the coordinates of :func:`optdyn.simulate.run`;
        ``attrs["kind"] == "theory"``, ``attrs["regime"]`` and ``attrs["config"]``.
    """
    if method not in METHODS:
        raise ConfigError("method", f"expected one of {METHODS}, got {method!r}")
    opts, single = _as_list(optimizer, problem, method)
    ckpts = _output_grid(steps, at, points_per_decade)
    if not (isinstance(rtol, float | int) and 0 < rtol < 1):
        raise ConfigError("rtol", f"must lie in (0, 1), got {rtol!r}")
    r0 = float(problem.initial_risk)
    threshold = 1e10 * max(r0, 1.0) if divergence_threshold is None else divergence_threshold
    if not threshold > 0:
        raise ConfigError("divergence_threshold", f"must be > 0, got {divergence_threshold!r}")

    laws = [law_for(o, problem, method) for o in opts]
    opts_all = _split_options(laws, method, options)
    for i, (law, o) in enumerate(zip(laws, opts, strict=True)):
        law.check(problem, o, "optimizer" if single else f"optimizer[{i}]")
    n_c, n_k = len(opts), len(ckpts)
    risk = np.full((n_c, n_k), np.nan)
    status = np.zeros(n_c, int)
    n_sub = np.zeros(n_c, int)
    extras: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    t0 = time.perf_counter()
    groups: dict[tuple, list[int]] = {}
    for i, (law, o) in enumerate(zip(laws, opts, strict=True)):
        key = _group_key(law, o) if method != "mean-field" else (law, i)
        groups.setdefault(key, []).append(i)
    if stack is not None and (isinstance(stack, bool) or not isinstance(stack, int)
                              or stack < 1):
        raise ConfigError("stack", f"must be a positive integer, got {stack!r}")
    chunks = [(key, idx[i:i + stack] if stack else idx) for key, idx in groups.items()
              for i in range(0, len(idx), stack or len(idx))]
    for key, idx in chunks:
        law_opts = {k: v for k, v in opts_all.items() if k in key[0].options}
        pad = [idx[0]] * (stack - len(idx)) if stack and method != "mean-field" else []
        out, st, ns, extra = _solve(method, key[0], problem, [opts[i] for i in idx + pad],
                                    ckpts, law_opts, rtol, max_substeps, threshold,
                                    progress)
        n = len(idx)
        out, st, ns = out[:n], st[:n], ns[:n]
        extra = {k: (dims, arr[:n]) for k, (dims, arr) in extra.items()}
        risk[idx], status[idx], n_sub[idx] = out, st, ns
        for name, (dims, arr) in extra.items():
            if name not in extras:
                extras[name] = (dims, np.full((n_c, *arr.shape[1:]), np.nan))
            extras[name][1][idx] = arr
    elapsed = time.perf_counter() - t0
    limits = [law.limits(problem, o, method) for law, o in zip(laws, opts, strict=True)]
    regimes: dict[str, str] = {}
    for law, o in zip(laws, opts, strict=True):
        regimes.update(law.regime_for(o, opts_all))
    config = {
        "problem": problem.to_config(),
        "optimizers": [o.to_config() for o in opts],
        "steps": int(steps),
        "points_per_decade": points_per_decade,
        "method": method,
        "rtol": rtol,
        "laws": [law.name for law in laws],
        **({"options": opts_all} if opts_all else {}),
        **({"at": True} if at is not None else {}),
    }
    return curves(problem, opts, ckpts, risk, status=status, n_substeps=n_sub, limits=limits,
                  method=method, threshold=threshold, config=config,
                  regime=regimes, elapsed=elapsed,
                  extras=extras, single=single)


def run_available(
    problem: Any,
    optimizers: list[Any],
    steps: int,
    method: str = "ode",
    *,
    points_per_decade: int = 10,
    warn: bool = True,
    **kwargs: Any,
) -> xr.Dataset:
    """Theory curves for every config of a list that has a theory, NaN for the others.

    The result has the same ``config`` coordinate (and labels) as a simulation of the whole list,
    so that ``optdyn run`` and sweeps can overlay theory on a mixed experiment (e.g. SGD, signSGD
    and Adam). With ``method="exact"`` the SGD configs use the exact recursion and the others
    their ODE. ``has_theory`` (per config) says which configs have a curve;
    ``attrs["no_theory"]`` (JSON, label -> reason) says why the others have none, and, with
    ``warn``, one warning lists them with their reasons. A config refused by its law when
    solved (e.g. a limit the law only sees with the horizon) is retried alone and marked the
    same way; the others keep their curves.
    """
    if method not in METHODS:
        raise ConfigError("method", f"expected one of {METHODS}, got {method!r}")
    reasons: dict[int, str] = {}
    chosen: dict[int, str] = {}
    for i, o in enumerate(optimizers):
        for meth in (("exact", "ode") if method == "exact" else (method,)):
            law = law_for(o, problem, meth)
            if law is None:
                continue
            try:
                law.check(problem, o, f"optimizer[{i}]")
            except ConfigError as e:
                reasons[i] = str(e)
                break
            chosen[i] = meth
            break
        else:
            reasons.setdefault(i, f"no {method} theory for {type(o).__name__} on "
                               f"{type(problem).__name__}")
    parts = []

    def solve(idx: list[int], meth: str) -> None:
        try:
            part = run(problem, [optimizers[i] for i in idx], steps, meth,
                       points_per_decade=points_per_decade, **kwargs)
        except ConfigError as e:  # a law that refuses a config only when solving it
            if len(idx) > 1:
                for i in idx:
                    solve([i], meth)
                return
            reasons[idx[0]] = str(e)
            del chosen[idx[0]]
            return
        if "config" not in part.dims:
            part = part.expand_dims("config")
        parts.append(part.assign_coords(config=idx))

    for meth in dict.fromkeys(chosen.values()):
        solve([i for i, m in chosen.items() if m == meth], meth)
    full = np.arange(len(optimizers))
    if parts:
        ds = xr.concat(parts, dim="config", coords="minimal", compat="override")
        ds = ds.sortby("config").reindex(config=full)
    else:
        ds = xr.Dataset(coords={"config": full, "step": checkpoint_steps(steps,
                                                                           points_per_decade)})
    ds = ds.assign_coords(label=("config", [o.label() for o in optimizers]))
    ds["has_theory"] = ("config", np.asarray([i in chosen for i in full]))
    ds.attrs["has_theory"] = json.dumps([i in chosen for i in full])
    ds.attrs["no_theory"] = json.dumps({optimizers[i].label(): r for i, r in reasons.items()})
    if warn and reasons:
        why = "; ".join(f"{optimizers[i].label()}: {r}" for i, r in sorted(reasons.items()))
        warnings.warn(f"no {method} theory for {len(reasons)} of {len(optimizers)} configs "
                      f"(NaN, has_theory = False): {why}", stacklevel=2)
    return ds
