"""Speed benchmark of the theory engine ``optdyn.theory.run`` against SciPy's stiff solvers.

Cases, all in one run (float64, CPU unless JAX finds a GPU):

(a) one curve   d = 10^4 modes, diagonal power law lambda_j = j^-0.5 (Tr K ~ 200), Gaussian
                noise std 0.5, theta* random with R0 ~ 2.5, SGD at 1/4 of its critical rate and
                SignSGD at lr = 0.5 / d, 10^6 steps (both reach their noise floor: the last
                checkpoint is within 1% of the closed-form limit risk). Time of a second,
                identical call (after compilation).
(b) sweep       the same SGD system at 256 learning rates in (0.01, 0.9) x critical, one
                compiled vmapped call; reported as its time and as a ratio to one curve.
(c) SciPy       the same SGD mode system by ``scipy.integrate.solve_ivp`` (LSODA and Radau,
                rtol = 1e-8, atol = 1e-12 R0, analytic dense Jacobian diag + rank one), the
                reference a researcher would write, at d = 1000 (a dense d = 10^4 Jacobian costs
                ~10 s per factorisation; the d = 10^4 SciPy time is measured only with --big,
                with a time cap). Our engine runs the same d = 1000 system for the ratio, and the
                relative difference of the two curves is reported.

(d) limits      the machine's limits for the integrator's inner loop, in the same run: memory
                bandwidth (a jitted streaming triad a + 1.5 b over 256 MiB arrays) and float64
                exp throughput (one array of 10^4 in cache, and 256 x 10^4 on all cores). A
                step costs two exponentials per mode (predictor and corrector), so exp / 2 is
                the mode-update rate the step could reach if nothing else cost anything;
                (a) and (b) are reported as useful mode updates per second (sum over configs
                of steps x modes / wall) and as that fraction.
(e) baseline    (b) and (a)'s SGD curve rerun by the code of ``--baseline`` (a git revision,
                default the landed main before the throughput work) from a temporary git
                worktree in a subprocess, on the same machine in the same run: the old/new
                ratio. ``--baseline none`` skips it.

Run ``python benchmarks/bench_theory.py`` (~2-3 min on 2 cores); JSON to
``benchmarks/results-theory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from scipy.integrate import solve_ivp

import optdyn
from optdyn import noise, theory
from optdyn.optimizers import SGD, SignSGD
from optdyn.problems import LinearRegression, RandomVector, spectra


def _problem(d: int) -> LinearRegression:
    lam = spectra.power_law(d, 0.25)
    return LinearRegression(eigenvalues=lam, theta_star=RandomVector(np.sqrt(5 * d / lam.sum())),
                            noise=noise.Gaussian(0.5))


def _timed(fn, repeat: int = 1):
    fn()  # compile
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _scipy(p: LinearRegression, lr: float, ckpts: np.ndarray, method: str):
    lam, s2 = p.eigenvalues, p.noise_second_moment
    v0 = 0.5 * (p.theta0 - p.theta_star) ** 2

    def f(k, v):
        return -2 * lr * lam * v + lr * lr * lam * (lam @ v + s2 / 2)

    def jac(k, v):
        return np.diag(-2 * lr * lam) + np.outer(lr * lr * lam, lam)

    t0 = time.perf_counter()
    sol = solve_ivp(f, (0, ckpts[-1]), v0, method=method, t_eval=ckpts, rtol=1e-8,
                    atol=1e-12 * p.initial_risk, jac=jac)
    return time.perf_counter() - t0, lam @ sol.y, sol


def _limits() -> dict[str, float]:
    """Memory bandwidth (streaming triad) and float64 exp throughput, jitted, best of 5."""
    import jax.numpy as jnp

    def best(fn, *a):
        jax.block_until_ready(fn(*a))
        out = np.inf
        for _ in range(5):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*a))
            out = min(out, time.perf_counter() - t0)
        return out

    n = 1 << 25
    a, b = jnp.ones(n), jnp.full(n, 2.0)
    t_triad = best(jax.jit(lambda a, b: a + 1.5 * b), a, b)
    x = jnp.linspace(0.0, 5.0, 10_000)
    loop = jax.jit(lambda x: jax.lax.fori_loop(0, 1000, lambda i, y: jnp.exp(-0.999 * y), x))
    t_exp1 = best(loop, x)
    xb = jnp.linspace(0.0, 5.0, 256 * 10_000).reshape(256, 10_000)
    loopb = jax.jit(lambda x: jax.lax.fori_loop(0, 50, lambda i, y: jnp.exp(-0.999 * y), x))
    t_expb = best(loopb, xb)
    return {"stream_triad_GBps": 3 * 8 * n / t_triad / 1e9,
            "exp_per_s_one_array": 1e4 * 1000 / t_exp1,
            "exp_per_s_all_cores": 256e4 * 50 / t_expb}


_BASELINE = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from bench_theory import _problem, _timed
from optdyn import theory
from optdyn.optimizers import SGD
p = _problem(10_000)
crit = theory.critical_lr(p, SGD(0.1))
t1, one = _timed(lambda: theory.run(p, SGD(0.25 * crit), int(sys.argv[2])), repeat=3)
lrs = np.geomspace(0.01, 0.9, 256) * crit
t256, sw = _timed(lambda: theory.run(p, [SGD(x) for x in lrs], int(sys.argv[2])), repeat=2)
print(json.dumps({"one_curve_s": t1, "sweep256_s": t256,
                  "risk": np.asarray(sw.risk).tolist()}))
"""


def _baseline(rev: str, steps: int) -> dict:
    """Time (a) SGD and (b) with the code of git revision ``rev`` (a temporary worktree)."""
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(wt), rev], cwd=here,
                       check=True, capture_output=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(wt / "src"),
                   "OPTDYN_COMPILATION_CACHE": "off"}
            out = subprocess.run([sys.executable, "-c", _BASELINE, str(here), str(steps)],
                                 env=env, capture_output=True, text=True, check=True).stdout
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=here,
                           capture_output=True)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results-theory.json")
    ap.add_argument("--steps", type=int, default=10**6)
    ap.add_argument("--baseline", default="ba6649e",
                    help="git revision to rerun (b) with, or 'none'")
    args = ap.parse_args()
    res: dict = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                 "backend": jax.default_backend(), "optdyn": optdyn.__version__,
                 "jax": jax.__version__, "loadavg": os.getloadavg()}
    try:
        res["commit"] = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"],
                                                text=True).strip()
    except Exception:  # noqa: BLE001
        res["commit"] = "?"
    steps = args.steps

    p = _problem(10_000)
    crit = theory.critical_lr(p, SGD(0.1))
    sgd = SGD(0.25 * crit)
    t1, one = _timed(lambda: theory.run(p, sgd, steps), repeat=3)
    lim = theory.limit_risk(p, sgd)
    res["one_curve_sgd_d1e4_s"] = t1
    res["one_curve_sgd_substeps"] = int(one.n_substeps)
    res["one_curve_sgd_end_over_limit"] = float(one.risk[-1]) / lim
    sign = SignSGD(0.5 / p.d)
    t1s, ones = _timed(lambda: theory.run(p, sign, steps), repeat=3)
    res["one_curve_sign_d1e4_s"] = t1s
    res["one_curve_sign_end_over_limit"] = float(ones.risk[-1]) / theory.limit_risk(p, sign)
    print(f"(a) one curve d=1e4, {steps} steps: SGD {t1:.3f} s ({int(one.n_substeps)} steps, "
          f"R_end/R_inf = {res['one_curve_sgd_end_over_limit']:.4f}); SignSGD {t1s:.3f} s "
          f"(R_end/R_inf = {res['one_curve_sign_end_over_limit']:.4f})", flush=True)

    lrs = np.geomspace(0.01, 0.9, 256) * crit
    t256, sweep = _timed(lambda: theory.run(p, [SGD(x) for x in lrs], steps), repeat=2)
    res["sweep256_sgd_d1e4_s"] = t256
    res["sweep256_over_one_curve"] = t256 / t1
    print(f"(b) 256 learning rates: {t256:.2f} s = {t256 / t1:.1f} x one curve", flush=True)

    lim = _limits()
    res.update(lim)
    step_limit = lim["exp_per_s_all_cores"] / 2
    rate1 = int(one.n_substeps) * p.d / t1
    rate256 = float(np.sum(sweep.n_substeps.values)) * p.d / t256
    res.update(mode_updates_per_s_one=rate1, mode_updates_per_s_256=rate256,
               exp_bound_mode_updates_per_s=step_limit,
               fraction_of_exp_bound_one=rate1 / (lim["exp_per_s_one_array"] / 2),
               fraction_of_exp_bound_256=rate256 / step_limit)
    print(f"(d) limits: stream {lim['stream_triad_GBps']:.1f} GB/s, exp "
          f"{lim['exp_per_s_one_array'] / 1e6:.0f} M/s on one array, "
          f"{lim['exp_per_s_all_cores'] / 1e6:.0f} M/s on all cores; mode updates "
          f"{rate1 / 1e6:.0f} M/s for one curve ({100 * res['fraction_of_exp_bound_one']:.0f}% "
          f"of exp/2 on one array), {rate256 / 1e6:.0f} M/s for 256 "
          f"({100 * res['fraction_of_exp_bound_256']:.0f}% of exp/2 on all cores)", flush=True)
    if args.baseline != "none":
        base = _baseline(args.baseline, steps)
        rel = np.asarray(base.pop("risk")) / sweep.risk.values - 1
        res.update(baseline_rev=args.baseline, baseline_one_curve_s=base["one_curve_s"],
                   baseline_sweep256_s=base["sweep256_s"],
                   sweep256_speedup_vs_baseline=base["sweep256_s"] / t256,
                   one_curve_speedup_vs_baseline=base["one_curve_s"] / t1,
                   sweep256_max_rel_diff_vs_baseline=float(np.nanmax(np.abs(rel))))
        print(f"(e) baseline {args.baseline}: 256 rates {base['sweep256_s']:.2f} s -> "
              f"{t256:.2f} s ({res['sweep256_speedup_vs_baseline']:.2f}x), one curve "
              f"{base['one_curve_s']:.3f} s -> {t1:.3f} s; curves within "
              f"{res['sweep256_max_rel_diff_vs_baseline']:.1e}", flush=True)

    q = _problem(1000)
    lr_q = 0.25 * theory.critical_lr(q, SGD(0.1))
    tq, ours = _timed(lambda: theory.run(q, SGD(lr_q), steps), repeat=3)
    ck = ours.step.values.astype(float)
    res["ours_d1000_s"] = tq
    for method in ("LSODA", "Radau"):
        ts, ref, sol = _scipy(q, lr_q, ck, method)
        rel = float(np.max(np.abs(ours.risk.values / ref - 1)))
        res[f"scipy_{method}_d1000_s"] = ts
        res[f"scipy_{method}_over_ours"] = ts / tq
        res[f"max_rel_diff_vs_{method}"] = rel
        print(f"(c) d=1000: ours {tq:.3f} s; SciPy {method} {ts:.2f} s ({sol.nfev} f-evals) = "
              f"{ts / tq:.0f} x ours; max rel. difference {rel:.2e}", flush=True)
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
