"""Speed benchmark of the simulation engine ``optdyn.simulate.run``.

For each case (d in {1000, 100}; diagonal or Haar-rotated power-law covariance lambda_j = j^-1;
SGD or SignSGD; 16 seeds; batch size 1; Gaussian label noise std 0.1; theta* a random unit
vector; theta0 = 0) it measures, in one run:

(a) engine      ``optdyn.simulate.run(problem, opt, steps, seeds=16)``: the first call (compile +
                run) and a second, identical call (the reported time); compile overhead =
                first - second. On a rotated covariance SGD (rotation-equivariant) runs in the
                eigenbasis by default (no product by U); for such cases the forced rotated path
                (``eigenbasis=False``) is timed too and reported in a second row, against the
                same floor and NumPy reference.
(b) floor       a jitted JAX function that draws exactly the samples the engine draws (same
                blocks of steps, same per-step keys fold_in(key(seed), step) then split into a
                key for z ~ N(0, I_{B x d}) and one for the label noise, x = sqrt(lambda) * z,
                then for a rotated covariance the block matmul by U^T) and does nothing else
                (each block is the carried value of the loop over blocks, so it is fully
                computed and materialised as in the engine; one entry per sample of the last
                block is summed at the end).
    floor/block the same with one ``jax.random.normal`` call per block per seed (key
                fold_in(key(seed), block)) instead of per-step keys: the cost of per-step keying
                is the difference between the two floors.
(c) numpy       the per-seed, per-step float64 NumPy loop of the papers' code (one
                ``default_rng(seed)`` per seed, x = sqrt(lambda) * z, U @ x when rotated, exact
                risk at the same geometric checkpoints). It is slow, so it is timed on a subset
                (a few seeds x a shorter horizon, best of 3) and extrapolated linearly in
                steps x seeds to the full run: its cost per (step, seed) does not depend on the
                step or the seed.

Sanity: the engine's mean risk over its 16 seeds and the NumPy loop's mean risk over its own
seeds, at the subset horizon (a checkpoint of the engine's grid), must agree within 25%
(different random streams, so only the means are compared).

Run ``python benchmarks/bench_simulate.py`` (full, 10^5 steps: about 9 min on a quiet 2-core
machine, 15 under load) or with ``--quick`` (smoke version, ~40 s on an idle machine).
``--block-size N`` passes ``block_size=N`` to the engine (and the floors); ``--block-sweep
16,64,256 [--sweep-only]`` adds a diagnostic table of engine and floor times at several block
sizes. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import optdyn  # noqa: F401  (enables float64 in JAX, as every optdyn run does)
from optdyn.noise import Gaussian
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems.linear_regression import LinearRegression
from optdyn.problems.targets import RandomVector
from optdyn.simulate import checkpoint_steps, run
from optdyn.simulate import engine as _engine

NOISE_STD = 0.1
BATCH = 1
SIGNSGD_LR = 1e-3
SANITY_RTOL = 0.25
DTYPE = "float32"  # the engine's default dtype; the floor draws in the same dtype


# ------------------------------------------------------------------------------------ cases
def make_problem(d: int, basis: str) -> LinearRegression:
    eig = 1.0 / np.arange(1, d + 1, dtype=float)
    return LinearRegression(eigenvalues=eig, basis=None if basis == "diag" else "haar",
                            theta_star=RandomVector(norm=1.0), noise=Gaussian(NOISE_STD))


def make_optimizer(name: str, problem: LinearRegression):
    if name == "SGD":
        return SGD(lr=0.5 / problem.trace, batch_size=BATCH)
    return SignSGD(lr=SIGNSGD_LR, batch_size=BATCH)


def engine_block(n_seeds: int, d: int, steps: int, block_size: int | None) -> int:
    """The block of steps the engine uses for one config (its own rule, private helper)."""
    return _engine._block_size(n_seeds, 1, BATCH, d, steps, block_size)


# ------------------------------------------------------------------------------------ floor
def make_floor(d: int, block: int, rotated: bool, per_step_keys: bool):
    """Jitted f(keys, sqrt_eig, basis_t, n_blocks) drawing the engine's samples and nothing else.

    per_step_keys=True: key of step k (1-based) of seed s = fold_in(key(s), k), split into
    (kz, ke); z = normal(kz, (B, d)), eps = std * normal(ke, (B,)), i.e. exactly the engine's
    draws. per_step_keys=False: one normal call per (seed, block), key fold_in(key(s), block).
    """
    dtype = jnp.dtype(DTYPE)

    def draw_block(keys, sqrt_eig, basis_t, b):
        if per_step_keys:
            step_ids = b * block + 1 + jnp.arange(block)
            kb = jax.vmap(lambda k: jax.vmap(lambda s: jax.random.fold_in(k, s))(step_ids))(keys)

            def one(k):
                kz, ke = jax.random.split(k)
                return (jax.random.normal(kz, (BATCH, d), dtype),
                        NOISE_STD * jax.random.normal(ke, (BATCH,), dtype))

            z, eps = jax.vmap(jax.vmap(one))(kb)  # (S, L, B, d), (S, L, B)
        else:
            def one(k):
                kz, ke = jax.random.split(jax.random.fold_in(k, b))
                return (jax.random.normal(kz, (block, BATCH, d), dtype),
                        NOISE_STD * jax.random.normal(ke, (block, BATCH), dtype))

            z, eps = jax.vmap(one)(keys)
        x = z * sqrt_eig
        if rotated:  # correlated Gaussians: one matmul by U^T per block
            x = (x.reshape(-1, d) @ basis_t).reshape(x.shape)
        return x, eps

    def floor(keys, sqrt_eig, basis_t, n_blocks):
        # The block is the loop's carried value: every block is fully computed and materialised
        # (as the engine materialises its block), and only the last one is reduced, trivially.
        # (A reduction of a slice inside the loop is not enough, even behind
        # lax.optimization_barrier: XLA CPU drops the barrier and then converts only the sliced
        # random bits to normals, which undercounts the drawing cost by ~40% at d = 1000.)
        s = keys.shape[0]
        init = (jnp.zeros((s, block, BATCH, d), dtype), jnp.zeros((s, block, BATCH), dtype))
        x, eps = jax.lax.fori_loop(
            0, n_blocks, lambda b, _: draw_block(keys, sqrt_eig, basis_t, b), init)
        return jnp.sum(x[..., 0, 0]) + jnp.sum(eps[..., 0])

    return jax.jit(floor), draw_block


def floor_inputs(problem: LinearRegression, n_seeds: int):
    arrays = problem.engine_arrays(jnp.dtype(DTYPE))
    keys = jax.vmap(jax.random.key)(jnp.arange(n_seeds))  # the engine's keys for seeds 0..S-1
    basis_t = arrays["basis_t"] if arrays["basis_t"] is not None else jnp.zeros((), DTYPE)
    return keys, arrays, basis_t


def check_floor_draws(problem: LinearRegression, n_seeds: int, block: int) -> float:
    """Max |floor draw - engine draw| over the first block (engine: problem.draw + rotate)."""
    keys, arrays, basis_t = floor_inputs(problem, n_seeds)
    _, draw_block = make_floor(problem.d, block, problem.basis is not None, True)
    x, eps = jax.jit(draw_block)(keys, arrays["sqrt_eig"], basis_t, 0)
    dtype = jnp.dtype(DTYPE)
    worst = 0.0
    for s in {0, n_seeds - 1}:
        for k in {1, block}:
            ref_x, ref_e = problem.draw(arrays, jax.random.fold_in(keys[s], k), BATCH, dtype)
            ref_x = problem.rotate(arrays, ref_x)
            worst = max(worst, float(jnp.max(jnp.abs(ref_x - x[s, k - 1]))),
                        float(jnp.max(jnp.abs(ref_e - eps[s, k - 1]))))
    return worst


def time_floor(problem: LinearRegression, n_seeds: int, steps: int, block: int,
               per_step_keys: bool, repeat: int) -> dict:
    keys, arrays, basis_t = floor_inputs(problem, n_seeds)
    f, _ = make_floor(problem.d, block, problem.basis is not None, per_step_keys)
    n_blocks = -(-steps // block)  # as the engine: whole blocks, the last one possibly partial
    t0 = time.perf_counter()
    compiled = f.lower(keys, arrays["sqrt_eig"], basis_t, n_blocks).compile()
    t_compile = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(keys, arrays["sqrt_eig"], basis_t, n_blocks))
        times.append(time.perf_counter() - t0)
    return dict(time_s=min(times), times_s=times, compile_s=t_compile, blocks=n_blocks,
                steps_drawn=n_blocks * block)


# ------------------------------------------------------------------------------------ engine
def time_engine(problem, opt, steps: int, n_seeds: int, block_size: int | None,
                repeat: int, eigenbasis: bool | None = None) -> dict:
    """First call and ``repeat`` timed calls of the engine (``eigenbasis`` passed through)."""
    kw = dict(seeds=n_seeds, dtype=DTYPE, block_size=block_size, progress=False,
              eigenbasis=eigenbasis)
    t0 = time.perf_counter()
    run(problem, opt, steps, **kw)
    first = time.perf_counter() - t0
    times, ds = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ds = run(problem, opt, steps, **kw)
        times.append(time.perf_counter() - t0)
    return dict(time_s=min(times), times_s=times, first_call_s=first,
                compile_overhead_s=first - times[0], ds=ds)


# ------------------------------------------------------------------------------------ numpy
def numpy_loop(problem: LinearRegression, opt_name: str, lr: float, seeds, steps: int,
               ckpts: np.ndarray) -> np.ndarray:
    """The papers' per-seed, per-step float64 loop; exact risk at ``ckpts`` (all <= steps)."""
    d = problem.d
    eig = problem.eigenvalues
    sqrt_eig = np.sqrt(eig)
    U = problem.basis
    theta_star = problem.theta_star
    risks = np.empty((len(seeds), len(ckpts)))
    sign = opt_name == "SignSGD"
    for i, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        theta = np.zeros(d)
        c = 0
        for k in range(0, steps + 1):
            if k > 0:
                x = sqrt_eig * rng.standard_normal(d)
                if U is not None:
                    x = U @ x
                eps = NOISE_STD * rng.standard_normal()
                r = x @ (theta - theta_star) - eps
                if sign:
                    theta -= lr * np.sign(r * x)
                else:
                    theta -= lr * r * x
            if c < len(ckpts) and k == ckpts[c]:
                e = theta - theta_star
                m = e if U is None else U.T @ e
                risks[i, c] = 0.5 * np.sum(eig * m * m)
                c += 1
    return risks


def time_numpy(problem, opt_name: str, lr: float, n_seeds: int, steps: int,
               full_ckpts: np.ndarray, repeat: int = 3) -> dict:
    """Time the NumPy loop on n_seeds x horizon (the minimum of ``repeat`` identical runs)."""
    horizon = int(full_ckpts[full_ckpts <= steps].max())  # a checkpoint of the engine's grid
    ckpts = full_ckpts[full_ckpts <= horizon]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        risks = numpy_loop(problem, opt_name, lr, list(range(n_seeds)), horizon, ckpts)
        times.append(time.perf_counter() - t0)
    dt = min(times)
    return dict(time_s=dt, times_s=times, seeds=n_seeds, steps=horizon,
                per_step_seed_s=dt / (n_seeds * horizon),
                final_mean_risk=float(risks[:, -1].mean()))


# ------------------------------------------------------------------------------------ report
def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parent, timeout=10)
        commit = rev.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return dict(date=datetime.datetime.now().isoformat(timespec="seconds"), cpu=cpu,
                cores=os.cpu_count(), python=platform.python_version(), jax=jax.__version__,
                numpy=np.__version__, backend=jax.default_backend(), optdyn=optdyn.__version__,
                git_commit=commit, loadavg_start=list(os.getloadavg()))


def fmt_s(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.3g}M" if x >= 1e6 else f"{x / 1e3:.3g}k"


def markdown_table(rows: list[dict], steps: int, n_seeds: int) -> str:
    head = ("| case | path | block | engine s | compile s | floor s | floor/block s | engine/floor "
            "| engine/floor/block | numpy s (extrap.) | numpy/engine | steps*seeds/s engine "
            "| floor | numpy | sanity: risk engine vs numpy @ step |")
    sep = "|" + "---|" * (head.count("|") - 1)
    lines = [f"Full run: {steps} steps x {n_seeds} seeds, batch 1, float32 engine; numpy "
             f"float64, extrapolated from the subset shown.", "", head, sep]
    for r in rows:
        n = steps * n_seeds
        san = (f"{r['engine_risk_at_h']:.3g} vs {r['numpy_risk_at_h']:.3g} @ {r['numpy_steps']} "
               f"({r['numpy_seeds']} seeds) {'ok' if r['sanity_ok'] else 'FAIL'}")
        lines.append(
            f"| {r['case']} | {r['path']} | {r['block']} | {fmt_s(r['engine_s'])} | "
            f"{fmt_s(r['compile_overhead_s'])} | {fmt_s(r['floor_s'])} | "
            f"{fmt_s(r['floor_block_s'])} | {r['engine_over_floor']:.2f} | "
            f"{r['engine_over_floor_block']:.2f} | {fmt_s(r['numpy_extrapolated_s'])} | "
            f"{r['numpy_over_engine']:.1f} | {fmt_rate(n / r['engine_s'])} | "
            f"{fmt_rate(n / r['floor_s'])} | {fmt_rate(1 / r['numpy_per_step_seed_s'])} | {san} |")
    return "\n".join(lines)


def sweep_table(rows: list[dict]) -> str:
    lines = ["| case | steps | block_size | engine s | floor s | engine/floor | engine us/step |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['steps']} | {r['block']} | {r['engine_s']:.3g} | "
                     f"{r['floor_s']:.3g} | {r['engine_s'] / r['floor_s']:.2f} | "
                     f"{r['engine_s'] / r['steps'] * 1e6:.0f} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke version (< 1 min): 2000 steps, 4 cases, small NumPy subset")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON file for the results (default: benchmarks/results[-quick].json)")
    p.add_argument("--steps", type=int, default=None, help="engine/floor horizon (default 1e5)")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--steps-rotated-1000", type=int, default=None,
                   help="horizon for the rotated d=1000 cases (default: --steps)")
    p.add_argument("--cases", default=None,
                   help="comma-separated subset, e.g. d1000-diag-SGD,d100-haar-SignSGD")
    p.add_argument("--numpy-seeds", type=int, default=None,
                   help="NumPy subset seeds (default 16 at d=100, 4 at d=1000 diagonal, 2 at "
                   "d=1000 rotated: enough for the sanity check of the mean risk)")
    p.add_argument("--numpy-steps", type=int, default=None,
                   help="NumPy subset horizon (default 1e4; 2e3 for rotated d=1000)")
    p.add_argument("--numpy-repeat", type=int, default=3,
                   help="timed repetitions of the NumPy subset (the minimum is used)")
    p.add_argument("--repeat", type=int, default=1,
                   help="timed repetitions of engine and floors (the minimum is reported)")
    p.add_argument("--block-size", type=int, default=None,
                   help="pass block_size= to the engine (and use it for the floors)")
    p.add_argument("--block-sweep", default=None,
                   help="also time engine and floor at these block sizes, e.g. 8,32,256")
    p.add_argument("--sweep-steps", type=int, default=16384)
    p.add_argument("--sweep-only", action="store_true",
                   help="with --block-sweep: skip the main measurements")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    here = Path(__file__).resolve().parent
    if a.quick:
        steps = a.steps or 2000
        all_cases = ["d1000-diag-SGD", "d1000-haar-SignSGD", "d100-diag-SignSGD", "d100-haar-SGD"]
        np_steps_default = {False: 1000, True: 300}
    else:
        steps = a.steps or 100_000
        all_cases = [f"d{d}-{b}-{o}" for d in (1000, 100) for b in ("diag", "haar")
                     for o in ("SGD", "SignSGD")]
        np_steps_default = {False: 10_000, True: 2_000}
    cases = a.cases.split(",") if a.cases else all_cases
    out = a.out or here / ("results-quick.json" if a.quick else "results.json")
    n_seeds = a.seeds
    info = machine_info()
    print(f"# optdyn simulate benchmark  {info['date']}  {info['cpu']}, {info['cores']} cores, "
          f"JAX {info['jax']} ({info['backend']}), numpy {info['numpy']}, commit "
          f"{info['git_commit']}", flush=True)

    problems: dict[tuple[int, str], LinearRegression] = {}
    floors: dict[tuple[int, str, int, int], dict] = {}
    rows = []
    t_all = time.perf_counter()
    for case in [] if (a.sweep_only and a.block_sweep) else cases:
        dpart, basis, opt_name = case.split("-")
        d = int(dpart[1:])
        if (d, basis) not in problems:
            problems[(d, basis)] = make_problem(d, basis)
        problem = problems[(d, basis)]
        opt = make_optimizer(opt_name, problem)
        lr = float(opt.lr(0))
        case_steps = steps
        if d == 1000 and basis == "haar" and a.steps_rotated_1000:
            case_steps = a.steps_rotated_1000
        block = engine_block(n_seeds, d, case_steps, a.block_size)
        print(f"\n## {case}: {case_steps} steps x {n_seeds} seeds, block {block}, lr {lr:.3g}",
              flush=True)

        fkey = (d, basis, case_steps, block)
        if fkey not in floors:
            err = check_floor_draws(problem, n_seeds, block)
            if not err < 1e-5:
                raise SystemExit(f"floor draws differ from the engine's draws (max err {err})")
            fl = time_floor(problem, n_seeds, case_steps, block, True, a.repeat)
            print(f"floor (per-step keys): {fl['time_s']:.2f} s  (compile {fl['compile_s']:.1f} s,"
                  f" draws identical to the engine's: max err {err:.1e})", flush=True)
            fb = time_floor(problem, n_seeds, case_steps, block, False, a.repeat)
            print(f"floor (one normal per block per seed): {fb['time_s']:.2f} s", flush=True)
            floors[fkey] = dict(per_step=fl, per_block=fb, draw_check_max_err=err)
        fl, fb = floors[fkey]["per_step"], floors[fkey]["per_block"]

        full_ckpts = checkpoint_steps(case_steps)
        np_steps = a.numpy_steps or np_steps_default[d == 1000 and basis == "haar"]
        np_seeds = a.numpy_seeds or (16 if d <= 100 else 4 if basis == "diag" else 2)
        npr = time_numpy(problem, opt_name, lr, np_seeds, min(np_steps, case_steps),
                         full_ckpts, a.numpy_repeat)
        np_full = npr["per_step_seed_s"] * case_steps * n_seeds
        print(f"numpy: {npr['time_s']:.2f} s (best of {len(npr['times_s'])}) for {npr['seeds']} "
              f"seeds x {npr['steps']} steps -> "
              f"{np_full:.1f} s extrapolated to {n_seeds} x {case_steps}", flush=True)

        # the default engine; on a rotated covariance with SGD that is the eigenbasis path, and
        # the forced rotated path is timed as well (same floor, same NumPy reference)
        runs = [None]
        if basis == "haar" and opt.rotation_equivariant:
            runs.append(False)
        for eigenbasis in runs:
            eng = time_engine(problem, opt, case_steps, n_seeds, a.block_size, a.repeat,
                              eigenbasis)
            ds = eng.pop("ds")
            path = ("diag" if basis == "diag" else
                    "eigenbasis" if int(ds.attrs["eigenbasis"]) else "rotated")
            print(f"engine ({path} path): first call {eng['first_call_s']:.2f} s, timed "
                  f"{eng['time_s']:.2f} s (compile overhead {eng['compile_overhead_s']:.2f} s)",
                  flush=True)
            risk = ds["risk"]
            r_eng_h = float(risk.sel(step=npr["steps"]).mean("seed"))
            r_np_h = npr["final_mean_risk"]
            rel = abs(r_eng_h - r_np_h) / max(abs(r_eng_h), 1e-300)
            row = dict(
                case=case, path=path, d=d, basis=basis, optimizer=opt_name, lr=lr,
                steps=case_steps, seeds=n_seeds, block=block,
                engine_s=eng["time_s"], engine_times_s=eng["times_s"],
                engine_first_call_s=eng["first_call_s"],
                compile_overhead_s=eng["compile_overhead_s"],
                engine_internal_elapsed_s=float(ds.attrs["elapsed_s"]),
                floor_s=fl["time_s"], floor_block_s=fb["time_s"],
                floor_compile_s=fl["compile_s"], floor_steps_drawn=fl["steps_drawn"],
                engine_over_floor=eng["time_s"] / fl["time_s"],
                engine_over_floor_block=eng["time_s"] / fb["time_s"],
                numpy_subset_s=npr["time_s"], numpy_subset_times_s=npr["times_s"],
                numpy_seeds=npr["seeds"], numpy_steps=npr["steps"],
                numpy_per_step_seed_s=npr["per_step_seed_s"], numpy_extrapolated_s=np_full,
                numpy_over_engine=np_full / eng["time_s"],
                engine_step_seeds_per_s=case_steps * n_seeds / eng["time_s"],
                floor_step_seeds_per_s=case_steps * n_seeds / fl["time_s"],
                numpy_step_seeds_per_s=1.0 / npr["per_step_seed_s"],
                engine_final_mean_risk=float(risk.isel(step=-1).mean("seed")),
                engine_diverged=int(ds["diverged"].sum()),
                engine_risk_at_h=r_eng_h, numpy_risk_at_h=r_np_h, sanity_rel_diff=rel,
                sanity_ok=bool(rel <= SANITY_RTOL and int(ds["diverged"].sum()) == 0),
            )
            rows.append(row)
            print(f"engine/floor {row['engine_over_floor']:.2f}, numpy/engine "
                  f"{row['numpy_over_engine']:.1f}, sanity risk@{npr['steps']}: engine "
                  f"{r_eng_h:.4g} vs numpy {r_np_h:.4g} (rel diff {rel:.1%}) "
                  f"{'ok' if row['sanity_ok'] else 'FAIL'}", flush=True)

    sweep_rows = []
    if a.block_sweep:
        sizes = [int(s) for s in a.block_sweep.split(",")]
        print(f"\n## block-size sweep ({a.sweep_steps} steps x {n_seeds} seeds)", flush=True)
        for case in cases:
            dpart, basis, opt_name = case.split("-")
            d = int(dpart[1:])
            problem = problems.setdefault((d, basis), make_problem(d, basis))
            opt = make_optimizer(opt_name, problem)
            for bs in sizes:
                eng = time_engine(problem, opt, a.sweep_steps, n_seeds, bs, a.repeat)
                eng.pop("ds")
                fl = time_floor(problem, n_seeds, a.sweep_steps, bs, True, a.repeat)
                sweep_rows.append(dict(case=case, steps=a.sweep_steps, block=bs,
                                       engine_s=eng["time_s"], floor_s=fl["time_s"],
                                       compile_overhead_s=eng["compile_overhead_s"]))
                print(f"{case} block {bs}: engine {eng['time_s']:.3f} s, floor "
                      f"{fl['time_s']:.3f} s", flush=True)

    info["loadavg_end"] = list(os.getloadavg())
    info["total_wall_s"] = time.perf_counter() - t_all
    table = markdown_table(rows, steps, n_seeds)
    print("\n" + table)
    if sweep_rows:
        print("\n" + sweep_table(sweep_rows))
    print(f"\ntotal wall time {info['total_wall_s']:.0f} s; load average start "
          f"{info['loadavg_start'][0]:.2f}, end {info['loadavg_end'][0]:.2f}")
    ok = all(r["sanity_ok"] for r in rows)
    result = dict(
        machine=info,
        settings=dict(steps=steps, seeds=n_seeds, batch_size=BATCH, noise_std=NOISE_STD,
                      dtype=DTYPE, spectrum="lambda_j = j^-1", theta_star="random unit vector",
                      sgd_lr="0.5 / Tr K", signsgd_lr=SIGNSGD_LR, quick=a.quick,
                      numpy_extrapolation="numpy time measured on numpy_seeds x numpy_steps and "
                      "scaled by (steps x seeds) / (numpy_steps x numpy_seeds)",
                      sanity_rtol=SANITY_RTOL, block_size_arg=a.block_size),
        cases=rows, block_sweep=sweep_rows, markdown=table, sanity_all_ok=ok)
    out.write_text(json.dumps(result, indent=2))
    print(f"results written to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
