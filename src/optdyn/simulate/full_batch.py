"""Deterministic full-batch (and mini-batch) runs on problems with an exact gradient.

One runner for every optimizer of :mod:`optdyn.optimizers`: W_{k+1} = W_k + update(g_k), with
g_k the exact full-batch gradient ``problem.full_gradient(arrays, W_k)`` (the setting of Li, Wang,
Zhong, Lu, Wang, "Muon in Associative Memory Learning", arXiv 2602.05725, Thms 4.1-6.3), or with
``batch_size=B`` the mini-batch gradient of B pairs drawn by ``problem.draw`` (seed s, step k
uses the key ``fold_in(key(s), k)``). Steps run in jit-compiled ``fori_loop`` segments between
checkpoints (the geometric grid of :func:`optdyn._core.grid.checkpoint_steps` or given
steps); at each checkpoint the exact per-subtask losses are evaluated in float64.

The problem provides ``engine_arrays``, ``full_gradient``, ``gradient``, ``draw``,
``subtask_losses_jax``, ``engine_key``, ``p`` (subtask weights), ``group`` (group of each
subtask), ``M``, ``loss_star``, ``subtask_loss_star`` and ``to_config`` (see
:class:`optdyn.problems.memory.AssociativeMemory`). A run whose loss stops being finite is
marked diverged and reported as inf from there on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn._core.results import mark_divergence
from optdyn.optimizers.base import Optimizer
from optdyn.simulate.result import dataset

__all__ = ["run"]

_DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


class _Static:
    """Hashes a problem by its ``engine_key`` so compiled code is reused across instances."""

    def __init__(self, problem: Any) -> None:
        self.obj, self.key = problem, problem.engine_key()

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Static) and other.key == self.key


@functools.partial(jax.jit, static_argnames=("prep", "batch_size"))
def _segment(opt: Any, arrays: dict, params: jax.Array, state: Any, keys: jax.Array,
             start: jax.Array, stop: jax.Array, prep: _Static, batch_size: int | None):
    problem = prep.obj

    def one(p, s, key, k):
        if batch_size is None:
            g = problem.full_gradient(arrays, p)
        else:
            batch = problem.draw(arrays, jax.random.fold_in(key, k + 1), batch_size, p.dtype)
            g = problem.gradient(arrays, p, batch, False)
        upd, s = opt.update(g, s, p)
        return p + upd.astype(p.dtype), s

    def body(k, c):
        p, s = c
        return jax.vmap(lambda pp, ss, kk: one(pp, ss, kk, k))(p, s, keys)

    return jax.lax.fori_loop(start, stop, body, (params, state))


@functools.partial(jax.jit, static_argnames=("prep",))
def _losses(arrays: dict, params: jax.Array, prep: _Static) -> jax.Array:
    return jax.vmap(lambda p: prep.obj.subtask_losses_jax(arrays, p))(params)


def run(
    problem: Any,
    optimizer: Any,
    steps: int,
    *,
    batch_size: int | None = None,
    seeds: int | Sequence[int] = 1,
    checkpoints: Sequence[int] | None = None,
    points_per_decade: int = 20,
    dtype: str = "float64",
    record_subtasks: bool = False,
) -> xr.Dataset:
    """Run optimizers from W0 with exact full-batch gradients (or mini-batches of ``batch_size``).

    Args:
        problem: e.g. :class:`optdyn.problems.memory.AssociativeMemory`.
        optimizer: an optdyn optimizer or a list of them (each is run in turn; configs of one
            kind with different learning rates reuse the compiled code).
        steps: number of steps T.
        batch_size: None (default) for the exact gradient, or B pairs per step.
        seeds: number of seeds (0..n-1) or a list (only mini-batch runs differ between seeds).
        checkpoints: steps at which losses are recorded (default: 0, a geometric grid with
            ``points_per_decade`` and T).
        dtype: "float64" (default) or "float32" for the iterates; losses are float64.
        record_subtasks: also return every subtask loss L_j (dims config, seed, task, step).

    Returns:
        ``xarray.Dataset`` with ``loss`` L, ``risk`` L - L* (dims config, seed, step),
        ``group_loss`` and ``group_excess`` (config, seed, group, step), ``diverged`` and
        ``diverged_step``, built by the simulation's one result builder
        (:func:`optdyn.simulate.result.dataset`): coordinates ``step`` (the papers' time for
        full-batch runs), ``config``, ``label``, the numeric hyperparameters (``lr`` where
        constant), ``group``, ``group_mass``; with ``batch_size`` also ``samples`` and
        ``t = samples / d`` (exact gradients draw no samples, so there is no ``t``).
    """
    single = not isinstance(optimizer, list | tuple)
    opts = [optimizer] if single else list(optimizer)
    if not opts:
        raise ConfigError("optimizer", "the list of optimizers is empty")
    for i, o in enumerate(opts):
        if not isinstance(o, Optimizer):
            raise ConfigError(f"optimizer[{i}]", f"expected an optdyn optimizer, got "
                              f"{type(o).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ConfigError("steps", f"must be a positive integer, got {steps!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
            batch_size, int | np.integer) or batch_size < 1):
        raise ConfigError("batch_size", f"must be None or a positive integer, got {batch_size!r}")
    if dtype not in _DTYPES:
        raise ConfigError("dtype", f"expected one of {sorted(_DTYPES)}, got {dtype!r}")
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError("seeds", f"must be >= 1, got {seeds}")
        seed_arr = np.arange(int(seeds))
    else:
        seed_arr = np.asarray(seeds, dtype=np.int64)
        if seed_arr.ndim != 1 or seed_arr.size == 0:
            raise ConfigError("seeds", f"expected a count or a non-empty list, got {seeds!r}")
    if checkpoints is None:
        ck = checkpoint_steps(int(steps), points_per_decade)
    else:
        ck = np.unique(np.concatenate([[0], np.asarray(checkpoints, dtype=np.int64)]))
        if ck.min() < 0 or ck.max() > steps:
            raise ConfigError("checkpoints", f"must lie in [0, {steps}]")
    jdt = _DTYPES[dtype]
    arrays = problem.engine_arrays(jdt)
    prep = _Static(problem)
    n_c, n_s, n_k, K = len(opts), len(seed_arr), len(ck), int(problem.p.shape[0])
    sub = np.full((n_c, n_s, K, n_k), np.nan)
    diverged = np.zeros((n_c, n_s), bool)
    keys = jax.vmap(jax.random.key)(jnp.asarray(seed_arr))
    t0 = time.perf_counter()
    for c, opt in enumerate(opts):
        p0 = jnp.broadcast_to(arrays["theta0"], (n_s,) + arrays["theta0"].shape)
        params, state = p0, jax.vmap(opt.init)(p0)
        prev = 0
        for k, s in enumerate(ck):
            if s > prev:
                params, state = _segment(opt, arrays, params, state, keys, jnp.int32(prev),
                                         jnp.int32(s), prep, batch_size)
                prev = int(s)
            lj = np.asarray(_losses(arrays, params, prep))
            bad = ~np.all(np.isfinite(lj), axis=-1)
            sub[c, :, :, k] = np.where(bad[:, None], np.inf, lj)
            diverged[c] |= bad
            if np.all(diverged[c]):
                sub[c, :, :, k:] = np.inf
                break
    elapsed = time.perf_counter() - t0
    return _to_dataset(problem, opts, single, seed_arr, ck, sub, diverged, record_subtasks,
                       dict(steps=int(steps), batch_size=batch_size, dtype=dtype), elapsed)


def _to_dataset(problem, opts, single, seeds, ck, sub, diverged, record_subtasks, run_cfg,
                elapsed) -> xr.Dataset:
    p, grp, M = np.asarray(problem.p), np.asarray(problem.group), int(problem.M)
    star = np.asarray(problem.subtask_loss_star)
    with np.errstate(invalid="ignore"):
        loss = np.einsum("csjk,j->csk", sub, p)
    loss, dv, div_step = mark_divergence(loss, ck, ~np.isfinite(loss))
    diverged = diverged | dv
    sub = np.where(np.isinf(loss)[:, :, None, :], np.inf, sub)
    with np.errstate(invalid="ignore"):
        onehot = (grp[:, None] == np.arange(M)[None, :]).astype(float)
        counts = onehot.sum(0)
        gl = np.einsum("csjk,jg->csgk", sub, onehot) / counts[None, None, :, None]
        gstar = (star @ onehot) / counts
    coords: dict[str, Any] = {"group": ("group", np.arange(M)),
                              "group_mass": ("group", np.asarray(problem.group_mass, float))}
    data: dict[str, Any] = {
        "loss": (("config", "seed", "step"), loss),
        "risk": (("config", "seed", "step"), loss - float(problem.loss_star)),
        "group_loss": (("config", "seed", "group", "step"), gl),
        "group_excess": (("config", "seed", "group", "step"), gl - gstar[None, None, :, None]),
        "diverged": (("config", "seed"), diverged),
        "diverged_step": (("config", "seed"), div_step),
    }
    if record_subtasks:
        coords["task"] = ("task", np.arange(sub.shape[2]))
        coords["p"] = ("task", p)
        data["subtask_loss"] = (("config", "seed", "task", "step"), sub)
    b = run_cfg["batch_size"]
    attrs = {"risk_convention": "risk = L(W) - L* (excess cross-entropy, exact); loss = L(W)",
             "gradient": "exact full batch" if b is None else f"mini-batch of {b} pairs",
             "dtype": run_cfg["dtype"]}
    ds = dataset(problem, opts, seeds, ck, data, run_cfg=run_cfg, elapsed=elapsed, single=False,
                 batch_size=b, coords=coords, attrs=attrs)
    ds["loss"].attrs.update(long_name="population cross-entropy L(W)")
    ds["risk"].attrs.update(long_name="excess loss L(W) - L*")
    ds["group_loss"].attrs.update(long_name="mean subtask loss of the group")
    return ds.isel(config=0) if single else ds
