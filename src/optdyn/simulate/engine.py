"""The simulation engine: one-pass streaming runs, batched over seeds and optimizer configs.

Every seed has its own random stream: the batch used at step k (1-based) of seed s is drawn from
the key ``fold_in(key(s), k)``, whatever the blocking, the other seeds or the other configs. All
configs see the same samples (common random numbers), so a learning-rate sweep compares like with
like. Samples are drawn a block of steps at a time (one call for the block; the rotation of a
rotated covariance is one matrix product per block); a ``lax.scan`` runs the steps of the block
and records the exact population risk when it reaches a checkpoint of the geometric grid.

A run whose risk exceeds ``divergence_threshold`` or stops being finite is marked ``diverged``,
frozen at its last finite block, and reported with risk = inf from the first bad checkpoint on.

**Eigenbasis path.** On a :class:`~optdyn.problems.LinearRegression` with a rotated covariance
K = U diag(lambda) U^T, a group of rotation-equivariant optimizers
(:attr:`~optdyn.optimizers.base.Optimizer.rotation_equivariant`: SGD, DANA, ClippedSGD,
NormalizedSGD) runs in K's eigenbasis: inputs x' = lambda^(1/2) z (no product with U),
theta*' = U^T theta*, theta0' = U^T theta0, the exact risk from lambda alone, and final iterates
mapped back as U theta'. The run on x = U x' is U times the run on x' (same z, same noise), so
this is the same process; the float rounding differs, so same-seed numbers are not those of the
rotated path (``run(..., eigenbasis=False)`` forces that path).

**Scan body.** Blocks that contain no checkpoint (nearly all of a long run) go through a scan
whose body is only the update; blocks with a checkpoint, and the last, partial block, go through
the recording body (a ``cond`` per step for the checkpoint and for steps past the end). Both
compute the same updates, so the numbers do not depend on which body ran a block.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from optdyn._core.errors import ConfigError
from optdyn._core.grid import checkpoint_steps
from optdyn._core.progress import Progress
from optdyn._core.pytree import Representative as _Rep
from optdyn._core.results import RISK_CONVENTION, mark_divergence
from optdyn.optimizers.base import Optimizer
from optdyn.optimizers.optax_adapter import OptaxOptimizer
from optdyn.problems.linear_regression import LinearRegression
from optdyn.simulate.result import dataset

__all__ = ["run", "RISK_CONVENTION"]

# floats per block of samples (4 MiB in float32): a block that the random-number generation and
# its conversion to normals can keep in cache; 4x larger blocks ran 2x slower at d = 1000
# (benchmarks/README.md)
_BLOCK_FLOATS = 1 << 20
_DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
# blocks are dispatched in chunks (one compiled call each, then progress and Ctrl-C): between
# _MIN_CHUNKS and _MAX_CHUNKS per run, sized towards _CHUNK_S of wall time each, which keeps the
# per-call overhead (~1 ms) small when blocks are fast
_CHUNK_S = 0.25
_MIN_CHUNKS = 32
_MAX_CHUNKS = 200


# --------------------------------------------------------------------------- input handling
def _as_optimizers(optimizer: Any) -> tuple[list[Optimizer], bool]:
    # an optax GradientTransformation is a NamedTuple: one optimizer, not a list of two
    single = isinstance(optimizer, optax.GradientTransformation) or not isinstance(
        optimizer, list | tuple)
    opts = [optimizer] if single else list(optimizer)
    if not opts:
        raise ConfigError("optimizer", "the list of optimizers is empty")
    out = []
    for i, o in enumerate(opts):
        if isinstance(o, optax.GradientTransformation):
            o = OptaxOptimizer(o)
        if not isinstance(o, Optimizer):
            where = "optimizer" if single else f"optimizer[{i}]"
            raise ConfigError(where, "expected an optdyn optimizer or optax.GradientTransformation"
                              f", got {type(o).__name__}")
        out.append(o)
    return out, single


def _as_seeds(seeds: Any) -> np.ndarray:
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError("seeds", f"the number of seeds must be >= 1, got {seeds}")
        return np.arange(int(seeds))
    arr = np.asarray(seeds)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ConfigError("seeds", f"expected a count or a non-empty list of integers, "
                          f"got {seeds!r}")
    if np.any(arr < 0) or len(np.unique(arr)) != arr.size:
        raise ConfigError("seeds", "seeds must be distinct non-negative integers")
    return arr.astype(np.int64)


def _groups(opts: list[Optimizer]) -> list[list[int]]:
    """Indices of configs that can be stacked and vmapped together (same structure)."""
    groups: dict[Any, list[int]] = {}
    for i, o in enumerate(opts):
        if isinstance(o, OptaxOptimizer):
            key: Any = ("optax", i)
        else:
            key = (type(o), jax.tree_util.tree_structure(o), o.batch_size, o.per_sample)
            leaves = jax.tree_util.tree_leaves(o)
            key = key + (tuple(np.shape(x) for x in leaves),)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _engine_forms(opts: list[Optimizer]) -> list[Optimizer]:
    """What the compiled loop runs for one group: each optimizer's
    :meth:`~optdyn.optimizers.base.Optimizer.engine_variant` when all of them give variants of
    one structure (they are stacked), else the optimizers themselves."""
    forms = [o.engine_variant() for o in opts]
    if isinstance(opts[0], OptaxOptimizer) or len({type(f) for f in forms}) != 1:
        return opts
    structs = {(jax.tree_util.tree_structure(f),
                tuple(np.shape(x) for x in jax.tree_util.tree_leaves(f))) for f in forms}
    return forms if len(structs) == 1 else opts


def _eigenbasis_problem(problem: Any) -> LinearRegression | None:
    """The problem in its covariance's eigenbasis, or None where running there is not exact.

    Only a :class:`LinearRegression` itself (not a subclass: PLRF reductions draw through a
    sketch, data problems resample rows) with a non-identity basis qualifies: Gaussian inputs
    x = U lambda^(1/2) z and label noise drawn independently of x. The returned problem has
    K' = diag(lambda), theta*' = U^T theta*, theta0' = U^T theta0 and the same noise law; the
    risk, ||theta - theta*|| and hence the divergence bound are unchanged by the rotation.
    """
    if type(problem) is not LinearRegression or problem.basis is None:
        return None
    u = np.asarray(problem.basis, dtype=np.float64)
    with warnings.catch_warnings():  # a zero-risk start was already reported for ``problem``
        warnings.simplefilter("ignore")
        return LinearRegression(eigenvalues=problem.eigenvalues, basis=None,
                                theta_star=u.T @ problem.theta_star,
                                theta0=u.T @ problem.theta0, noise=problem.noise,
                                seed=problem.seed, basis_seed=problem.basis_seed)


# --------------------------------------------------------------------------- the compiled core
@functools.lru_cache(maxsize=64)
def _make_advance(problem_key, problem, opt_key, opt_template, stacked: bool, batch_size: int,
                  per_sample: bool, block: int, dtype):
    """Build the jitted functions that initialise and advance all (seed, config) runs.

    Cached on the structure of the computation (``problem_key``, ``opt_key`` and the static
    settings), so repeated runs on problems of the same structure reuse the compiled code: all
    arrays (spectrum, basis, target, hyperparameters) are arguments, never constants. ``problem``
    and ``opt_template`` are representatives of their keys (hash-neutral, see
    :class:`optdyn._core.pytree.Representative`).
    """
    problem, opt_template = problem.obj, opt_template.obj

    # a stacked optimizer is a pytree argument (vmapped over configs); an opaque one is closed over
    resolve = (lambda o: o) if stacked else (lambda o: opt_template)

    def one_run(opt, state, params, batch, arrays):
        opt = resolve(opt)
        g = problem.gradient(arrays, params, batch, per_sample)
        upd, state = opt.update(g, state, params)
        return params + upd.astype(params.dtype), state

    over_configs = jax.vmap(one_run, in_axes=(0 if stacked else None, 0, 0, None, None))
    over_seeds = jax.vmap(over_configs, in_axes=(None, 0, 0, 0, None))
    risk_all = jax.vmap(jax.vmap(problem.risk_jax, in_axes=(None, 0)), in_axes=(None, 0))
    bound_all = jax.vmap(jax.vmap(problem.sq_distance_bound, in_axes=(None, 0)), in_axes=(None, 0))

    def draw_block(keys, arrays, first_step):
        # drawn directly in (step, seed, ...) order, the order the scan consumes
        step_ids = first_step + jnp.arange(block)
        if problem.finite_data:  # finite data sets: rows without replacement
            x, eps = problem.draw_steps(arrays, keys, step_ids, batch_size, dtype)
            return problem.rotate(arrays, x), eps, step_ids
        per_step = jax.vmap(lambda s: jax.vmap(lambda k: jax.random.fold_in(k, s))(keys))
        kb = per_step(step_ids)  # (L, S)
        draw = jax.vmap(jax.vmap(lambda k: problem.draw(arrays, k, batch_size, dtype)))
        x, eps = draw(kb)  # (L, S, B, d), (L, S, B)
        return problem.rotate(arrays, x), eps, step_ids

    def mask(frozen, new, old):
        def pick(n, o):
            m = frozen.reshape(frozen.shape + (1,) * (n.ndim - frozen.ndim))
            return jnp.where(m, o, n)

        return jax.tree_util.tree_map(pick, new, old)

    def block_body(b, carry, opt, keys, arrays, ckpts, total, threshold):
        params, state, risk_buf, ptr, diverged, div_step = carry
        x, eps, step_ids = draw_block(keys, arrays, b * block + 1)

        def recording(c):
            # a block with a checkpoint (the last block always has one: step ``total``)
            def inner(c, inp):
                params, state, risk_buf, ptr = c
                xk, ek, step = inp

                def do(ps):
                    p, s = ps
                    return over_seeds(opt, s, p, (xk, ek), arrays)

                # frozen (diverged) runs keep stepping inside a block and are reset at its end:
                # no per-step mask in the hot loop
                params, state = jax.lax.cond(step <= total, do, lambda ps: ps, (params, state))

                def record(rp):
                    rb, pt = rp
                    return rb.at[pt].set(risk_all(arrays, params)), pt + 1

                is_ck = step == ckpts[jnp.minimum(ptr, ckpts.shape[0] - 1)]
                risk_buf, ptr = jax.lax.cond(is_ck, record, lambda rp: rp, (risk_buf, ptr))
                return (params, state, risk_buf, ptr), None

            c, _ = jax.lax.scan(inner, c, (x, eps, step_ids))
            return c

        def plain(c):
            # no checkpoint in the block, hence not the last block: every step is <= total
            def inner(ps, inp):
                p, s = ps
                return over_seeds(opt, s, p, inp, arrays), None

            (p, s), _ = jax.lax.scan(inner, (c[0], c[1]), (x, eps))
            return p, s, c[2], c[3]

        # ptr is the next checkpoint to record; every earlier one lies in an earlier block
        n_ck = ckpts.shape[0]
        has_ck = (ptr < n_ck) & (ckpts[jnp.minimum(ptr, n_ck - 1)] <= b * block + block)
        start = (params, state)
        params, state, risk_buf, ptr = jax.lax.cond(has_ck, recording, plain,
                                                    (params, state, risk_buf, ptr))
        bound = bound_all(arrays, params)
        bad = ~jnp.isfinite(bound) | (bound > threshold)
        newly = bad & ~diverged
        params, state = mask(bad | diverged, (params, state), start)
        div_step = jnp.where(newly, b * block + 1, div_step)
        return params, state, risk_buf, ptr, diverged | bad, div_step

    @jax.jit
    def advance(carry, opt, keys, arrays, ckpts, total, threshold, b0, nb):
        body = lambda b, c: block_body(b, c, opt, keys, arrays, ckpts, total, threshold)  # noqa: E731
        return jax.lax.fori_loop(b0, b0 + nb, body, carry)

    @functools.partial(jax.jit, static_argnums=(2, 3))
    def initial(opt, arrays, n_seeds, n_configs):
        p0 = jnp.broadcast_to(arrays["theta0"], (n_seeds, n_configs) + arrays["theta0"].shape)
        init_c = jax.vmap(lambda o, p: resolve(o).init(p), in_axes=(0 if stacked else None, 0))
        state = jax.vmap(init_c, in_axes=(None, 0))(opt, p0)
        return p0, state, risk_all(arrays, p0)

    return advance, initial


def _block_size(n_seeds: int, n_configs: int, batch_size: int, d: int, steps: int,
                requested: int | None) -> int:
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ConfigError("block_size", f"must be a positive integer, got {requested!r}")
        return requested
    per_step = max(1, n_seeds * batch_size * d)
    b = 1 << max(0, int(math.floor(math.log2(max(1, _BLOCK_FLOATS // per_step)))))
    b = max(b, 16)  # keeps the block's rotation a real matrix product
    return int(min(b, 1024, 1 << int(math.ceil(math.log2(max(1, steps))))))


def _run_group(problem, opts, seeds, steps, ckpts, dtype, block_size, threshold, progress,
               task_label):
    """Run one group of stackable configs on ``problem`` (as given: the caller picks the basis).

    Returns the recorded risks (checkpoints reached, seeds, configs), the divergence flags, the
    last step of the block that stopped each diverged run (-1 if none), the final iterates in
    ``problem``'s coordinates, the number of checkpoints reached, whether it was interrupted,
    and the block length.
    """
    opts = _engine_forms(opts)
    stacked = not isinstance(opts[0], OptaxOptimizer)
    if stacked:
        opt = jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *opts)
    else:
        opt = None
    batch_size, per_sample = opts[0].batch_size, opts[0].per_sample
    n_s, n_c = len(seeds), len(opts)
    block = _block_size(n_s, n_c, batch_size, problem.d, steps, block_size)
    arrays = problem.engine_arrays(dtype)
    if stacked:
        leaves = jax.tree_util.tree_leaves(opt)
        opt_key: Any = (jax.tree_util.tree_structure(opt), tuple(x.shape for x in leaves))
    else:
        opt_key = opts[0]
    advance, initial = _make_advance(problem.engine_key(), _Rep(problem), opt_key, _Rep(opts[0]),
                                     stacked, batch_size, per_sample, block, dtype)
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds))
    params, state, risk0 = initial(opt, arrays, n_s, n_c)
    risk_buf = jnp.zeros((len(ckpts), n_s, n_c), jnp.float64).at[0].set(risk0)
    carry = (params, state, risk_buf, jnp.asarray(1), jnp.zeros((n_s, n_c), bool),
             jnp.full((n_s, n_c), -1, jnp.int64))
    ck = jnp.asarray(ckpts)
    n_blocks = -(-steps // block)
    # blocks per dispatch: from n_blocks / _MAX_CHUNKS up to n_blocks / _MIN_CHUNKS, grown (at
    # most 4x per chunk) towards _CHUNK_S of wall time each
    min_chunk = -(-n_blocks // _MAX_CHUNKS)
    max_chunk = -(-n_blocks // _MIN_CHUNKS)
    nb = min_chunk
    done_blocks, interrupted = 0, False
    task = progress.task(task_label, steps)
    try:
        while done_blocks < n_blocks:
            nb = min(nb, n_blocks - done_blocks)
            t0 = time.perf_counter()
            carry = advance(carry, opt, keys, arrays, ck, steps, threshold, done_blocks, nb)
            jax.block_until_ready(carry[2])
            dt = time.perf_counter() - t0
            done_blocks += nb
            progress.update(task, min(done_blocks * block, steps))
            nb = max(min_chunk, min(4 * nb, max_chunk, int(nb * _CHUNK_S / max(dt, 1e-6))))
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(f"interrupted after {done_blocks * block} of {steps} steps: returning the "
                      "checkpoints reached", stacklevel=3)
    params, _, risk_buf, ptr, diverged, div_step = carry
    div_step = np.asarray(div_step)
    # last step whose checkpoint was genuinely computed before the run was frozen
    div_end = np.where(div_step >= 0, div_step + block - 1, -1)
    n_done = int(ptr)
    return (np.asarray(risk_buf)[:n_done], np.asarray(diverged), div_end,
            np.asarray(params), n_done, interrupted, block)


# --------------------------------------------------------------------------- public entry point
def run(
    problem: Any,
    optimizer: Any,
    steps: int,
    seeds: int | Sequence[int] = 8,
    *,
    dtype: str = "float32",
    points_per_decade: int = 10,
    block_size: int | None = None,
    divergence_threshold: float | None = None,
    progress: bool | None = None,
    return_params: bool = False,
    stack: int | None = None,
    eigenbasis: bool | None = None,
) -> xr.Dataset:
    """Simulate one-pass streaming runs of one or several optimizers on a problem.

    Args:
        problem: e.g. :class:`optdyn.problems.LinearRegression`.
        optimizer: an optdyn optimizer, an ``optax.GradientTransformation``, or a list of them
            (the result then has a ``config`` dimension). Configs of the same kind and structure
            (e.g. a learning-rate sweep) run stacked in one compiled computation.
        steps: number of optimizer steps (each uses a fresh batch of ``batch_size`` samples).
        seeds: a number of seeds (0..n-1) or a list of seed values.
        dtype: "float32" (default) or "float64" for the iterates; risks are always float64.
        points_per_decade: density of the geometric checkpoint grid (plus step 0 and the last).
        block_size: steps per block of samples (default: sized for about 16 MiB of samples).
        divergence_threshold: a run whose risk bound (1/2)||K|| ||theta - theta*||^2 exceeds it
            is marked diverged and stopped (default 1e10 * max(initial risk, 1)).
        progress: True shows a bar on a terminal, False hides progress; None (default) shows a
            bar for long runs on a terminal and a line every 10 s elsewhere (notebook, log).
        return_params: also return the final iterates as ``theta_final`` (dims ``dim``, and
            ``out`` for a matrix parameter of a problem with ``param_shape = (d, m)``).
        stack: run configs of one structure in stacks of exactly this many (the last one
            padded with copies of its first config). XLA picks its kernels (a matrix-vector or
            a matrix-matrix product...) by the stack's width, so float32 results agree to the
            bit only between runs with the same width; a fixed ``stack`` makes each config's
            numbers independent of which other configs it runs with (what sweeps use).
        eigenbasis: whether to run in the covariance's eigenbasis (see the module docstring).
            None (default): wherever it is exact, i.e. on a :class:`LinearRegression` with a
            rotated covariance, for each group whose optimizers are all
            ``rotation_equivariant``; False: never (the rotated path: inputs x = U x' drawn
            with one product per block, risk through U); True: like None, but a ConfigError
            where it is not possible. The two paths draw the same z and noise and give the
            same process (same distribution of every result), but not the same numbers for a
            seed: the float rounding differs, and in float32 the runs drift apart. The
            eigenbasis path skips the product by U of every sample (at d = 1000, about 3x
            faster); ``theta_final`` is mapped back to the original coordinates.

    Returns:
        ``xarray.Dataset`` with ``risk`` (dims ``config``, ``seed``, ``step``; no ``config``
        when a single optimizer was given), ``loss`` where E[eps^2] is finite, ``diverged`` and
        ``diverged_step`` per run, coordinates ``step``, ``samples``, ``t = samples / d``,
        ``seed``, ``config`` with ``label`` and the numeric hyperparameters, and attributes with
        the optdyn version, the whole config as JSON, the risk convention, the dtype and
        ``eigenbasis`` (1 if the run was in the eigenbasis, else 0; a list per config when the
        configs differ).
    """
    opts, single = _as_optimizers(optimizer)
    seed_arr = _as_seeds(seeds)
    ckpts = checkpoint_steps(steps, points_per_decade)
    if dtype not in _DTYPES:
        raise ConfigError("dtype", f"expected one of {sorted(_DTYPES)}, got {dtype!r}")
    jdtype = _DTYPES[dtype]
    r0 = float(problem.initial_risk)
    if divergence_threshold is None:
        divergence_threshold = 1e10 * max(r0, 1.0)
    elif not (divergence_threshold > 0):
        raise ConfigError("divergence_threshold", f"must be > 0, got {divergence_threshold!r}")

    groups = _groups(opts)
    if stack is not None:
        if isinstance(stack, bool) or not isinstance(stack, int) or stack < 1:
            raise ConfigError("stack", f"must be a positive integer, got {stack!r}")
        groups = [g[i:i + stack] for g in groups for i in range(0, len(g), stack)]
    if eigenbasis not in (None, True, False):
        raise ConfigError("eigenbasis", f"expected None, True or False, got {eigenbasis!r}")
    eig_problem = _eigenbasis_problem(problem) if eigenbasis is not False else None
    in_eig = [eig_problem is not None and all(opts[i].rotation_equivariant for i in idx)
              for idx in groups]
    if eigenbasis is True and not all(in_eig):
        why = ("the problem is not a LinearRegression with a rotated covariance"
               if eig_problem is None else "optimizer(s) not rotation-equivariant: " + ", ".join(
                   sorted({opts[i].name for i in range(len(opts))
                           if not opts[i].rotation_equivariant})))
        raise ConfigError("eigenbasis", f"cannot run in the eigenbasis: {why}")
    n_c, n_s, n_k = len(opts), len(seed_arr), len(ckpts)
    risk = np.full((n_c, n_s, n_k), np.nan)
    diverged = np.zeros((n_c, n_s), bool)
    div_step = np.full((n_c, n_s), -1, np.int64)
    param_shape = tuple(problem.param_shape)  # (d,) or (d, m) for matrices
    final = np.zeros((n_c, n_s) + param_shape) if return_params else None
    work = steps * n_s * n_c * problem.d * max(o.batch_size for o in opts)
    t0 = time.perf_counter()
    n_done_all, interrupted, blocks = n_k, False, []
    eig_flags = np.zeros(n_c, np.int64)
    for gi, idx in enumerate(groups):
        eig_flags[idx] = int(in_eig[gi])
    with Progress("simulate", progress, long=work > 5e8) as bar:
        for gi, idx in enumerate(groups):
            label = opts[idx[0]].label() if len(idx) == 1 else f"{opts[idx[0]].name} x{len(idx)}"
            pad = [idx[0]] * (stack - len(idx)) if stack is not None and \
                not isinstance(opts[idx[0]], OptaxOptimizer) else []
            rb, dv, ds, params, n_done, intr, block = _run_group(
                eig_problem if in_eig[gi] else problem, [opts[i] for i in idx + pad], seed_arr,
                steps, ckpts, jdtype, block_size, float(divergence_threshold), bar,
                f"[{gi + 1}/{len(groups)}] {label}")
            n_real = len(idx)
            rb, dv, ds = rb[..., :n_real], dv[:, :n_real], ds[:, :n_real]
            params = params[:, :n_real]
            blocks.append(block)
            risk[idx, :, :n_done] = np.moveaxis(rb, 0, -1).transpose(1, 0, 2)
            diverged[idx], div_step[idx] = dv.T, ds.T
            if final is not None:
                if in_eig[gi]:  # theta = U theta' (rows: theta' U^T), in float64
                    params = np.asarray(params, np.float64) @ problem.basis.T
                final[idx] = np.swapaxes(params, 0, 1)
            n_done_all = min(n_done_all, n_done)
            if intr:
                interrupted = True
                break
    elapsed = time.perf_counter() - t0

    # a run is diverged from its first bad checkpoint, or from the first checkpoint after the
    # block in which it was stopped (div_step holds that block's last step here)
    done = risk[..., :n_done_all]
    stop_idx = np.where(div_step >= 0,
                        np.searchsorted(ckpts, np.maximum(div_step, 0), side="right"), n_k)
    ck = ckpts[:n_done_all]
    stopped_at = div_step.copy()
    risk, dv, div_step = mark_divergence(done, ck, ~np.isfinite(done) | (done >
                                                                         divergence_threshold),
                                         stop=np.minimum(stop_idx, n_done_all))
    diverged |= dv
    # a run stopped after the last recorded checkpoint (an interrupted run) diverged by the
    # end of the block that stopped it
    div_step = np.where(diverged & (div_step < 0), stopped_at, div_step)

    return _to_dataset(problem, opts, single, seed_arr, ck, risk, diverged, div_step, final,
                       dict(steps=int(steps), points_per_decade=points_per_decade, dtype=dtype,
                            divergence_threshold=float(divergence_threshold)),
                       dict(elapsed_s=elapsed, interrupted=interrupted, block_size=blocks,
                            eigenbasis=int(eig_flags[0]) if len(set(eig_flags)) == 1
                            else [int(v) for v in eig_flags]))


def _to_dataset(problem, opts, single, seeds, ckpts, risk, diverged, div_step, final, run_cfg,
                info) -> xr.Dataset:
    data = {
        "risk": (("config", "seed", "step"), risk),
        "diverged": (("config", "seed"), diverged),
        "diverged_step": (("config", "seed"), div_step),
    }
    m2 = problem.noise_second_moment
    if math.isfinite(m2):
        data["loss"] = (("config", "seed", "step"), risk + 0.5 * m2)
    if final is not None:
        data["theta_final"] = (("config", "seed", "dim", "out")[:final.ndim], final)
    ds = dataset(problem, opts, seeds, ckpts, data, run_cfg=run_cfg, elapsed=info["elapsed_s"],
                 single=False, attrs={"dtype": run_cfg["dtype"],
                                      "interrupted": int(info["interrupted"]),
                                      "eigenbasis": info["eigenbasis"]})
    ds["risk"].attrs.update(long_name="excess population risk", convention=RISK_CONVENTION)
    return ds.isel(config=0) if single else ds
