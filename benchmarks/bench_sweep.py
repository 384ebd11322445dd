"""Speed benchmark of sweeps (``optdyn.sweep``): executors against each other, in one run.

(a) theory grid   10^4 points of theory only: SGD on a power-law linear regression (d = 100,
                  identity basis, Gaussian label noise, 10^4 steps) over 100 learning rates x
                  100 spectrum exponents alpha (one problem per alpha: 100 batches of 100
                  points). Wall time on 2 local worker processes and on a 2-worker Dask
                  LocalCluster (single-threaded workers) that the sweep starts, and on one
                  already running (as with ``--address``: its start is not timed); the ratios
                  dask / local (target <= 1.3) and, as a reference, the driver's own process
                  (inline).
(b) overhead      200 one-point batches of a tiny theory (d = 4, 10 steps): wall time per batch
                  inline, on local processes and on Dask; the per-batch overhead of a path is
                  its time per batch minus inline's.
(c) phase map     (``--phases``, ~15-20 min) the simulated map of ``muon-phases-sim`` at d = 64
                  (m = 128, 4 x 5 (alpha, beta), B in {1, 4, 16}, 5 horizons, 2 seeds) through
                  the sweep on 2 local workers: its wall time (before: 1154 s on the same 2
                  cores, docs/muon.md) and its labels against the table of docs/muon.md.

Run ``python benchmarks/bench_sweep.py [--phases]``; JSON to ``benchmarks/results-sweep.json``.
Each section starts from an empty store and includes the workers' start and compilation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import optdyn
from optdyn import sweep

# docs/muon.md: the d = 64 labels over long horizons (T >= 1000) and over all horizons
PHASES_D64_LONG = [[None, 1, 1, 1, 1], [-1, 0, 0, 1, 1], [-1, -1, 0, 0, 1], [-1, 0, 0, 0, 1]]
PHASES_D64_ALL = [[None, 1, 1, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1]]


def theory_grid(n_lr: int, n_alpha: int, d: int, steps: int) -> dict:
    """A theory-only study of n_lr x n_alpha points."""
    return {"name": "bench-theory-grid", "steps": steps, "simulate": False, "theory": "ode",
            "points_per_decade": 8,
            "problem": {"kind": "linear_regression",
                        "eigenvalues": {"kind": "power_law", "d": d, "alpha": 1.0},
                        "theta_star": {"kind": "power_law", "beta": 0.5},
                        "noise": {"law": "gaussian", "std": 0.1}},
            "optimizer": [{"kind": "sgd", "lr": 0.1}],
            "sweep": {"optimizer.lr": [float(x) for x in np.geomspace(1e-3, 0.5, n_lr)],
                      "problem.eigenvalues.alpha": [float(x) for x in
                                                    np.linspace(0.3, 1.5, n_alpha)]}}


def timed(study: dict, executor, points_per_batch: int, tmp: Path) -> tuple[float, object]:
    store = tmp / f"{executor if isinstance(executor, str) else 'client'}-{points_per_batch}"
    shutil.rmtree(store, ignore_errors=True)
    t0 = time.perf_counter()
    ds = sweep.run(study, store, executor=executor, workers=2,
                   points_per_batch=points_per_batch, progress=False)
    return time.perf_counter() - t0, ds


def section_grid(tmp: Path) -> dict:
    study = theory_grid(100, 100, 100, 10_000)
    out = {}
    ref = None
    for ex in ("local", "dask", "inline"):
        t, ds = timed(study, ex, 100, tmp)
        out[f"{ex}_s"] = t
        print(f"(a) 10^4-point theory grid, {ex}: {t:.1f} s", flush=True)
        if ref is None:
            ref = ds["theory_risk"].values
        else:
            out[f"{ex}_equal_to_local"] = bool(np.array_equal(ref, ds["theory_risk"].values,
                                                              equal_nan=True))
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        t, ds = timed(study, client, 100, tmp)
    out["dask_running_s"] = t
    out["dask_running_equal_to_local"] = bool(np.array_equal(ref, ds["theory_risk"].values,
                                                             equal_nan=True))
    print(f"(a) 10^4-point theory grid, dask cluster already running: {t:.1f} s", flush=True)
    out["dask_over_local"] = out["dask_s"] / out["local_s"]
    out["dask_running_over_local"] = out["dask_running_s"] / out["local_s"]
    out["inline_over_local"] = out["inline_s"] / out["local_s"]
    out["points"] = 10_000
    return out


def section_overhead(tmp: Path) -> dict:
    study = theory_grid(200, 1, 4, 10)
    out = {}
    for ex in ("inline", "local", "dask"):
        t, _ = timed(study, ex, 1, tmp)
        out[f"{ex}_per_batch_ms"] = 1e3 * t / 200
        print(f"(b) 200 tiny batches, {ex}: {t:.1f} s ({1e3 * t / 200:.1f} ms a batch)",
              flush=True)
    for ex in ("local", "dask"):
        out[f"{ex}_overhead_ms"] = out[f"{ex}_per_batch_ms"] - out["inline_per_batch_ms"]
    return out


def section_phases(tmp: Path) -> dict:
    from optdyn.analysis.phases import label_phases, phase_diagram
    from optdyn.reproduce import muon_phases_sim as mps

    t0 = time.perf_counter()
    ds = phase_diagram(mps._ALPHAS, mps._BETAS, d=64, store=tmp / "phases-d64",
                       executor="local", workers=2, progress=None, **mps.SETTINGS)
    t = time.perf_counter() - t0

    def lab(arr):
        return [[None if not np.isfinite(v) else int(v) for v in row] for row in arr]

    long, full = lab(label_phases(ds, horizons=mps.LONG).values), lab(ds.label.values)
    same = sum(a == b for r1, r2 in zip(long, PHASES_D64_LONG, strict=True)
               for a, b in zip(r1, r2, strict=True) if b is not None)
    same_all = sum(a == b for r1, r2 in zip(full, PHASES_D64_ALL, strict=True)
                   for a, b in zip(r1, r2, strict=True) if b is not None)
    print(f"(c) muon-phases-sim d = 64 through the sweep: {t:.0f} s (before 1154 s); labels "
          f"equal to docs/muon.md: {same} / 19 long, {same_all} / 19 all", flush=True)
    return {"elapsed_s": t, "before_s": 1154.0, "ratio": t / 1154.0, "labels_long": long,
            "labels_all": full, "equal_long": same, "equal_all": same_all}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phases", action="store_true", help="also (c), the d = 64 phase map")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                  "results-sweep.json"))
    args = ap.parse_args()
    out = {"machine": platform.platform(), "cpus": os.cpu_count(),
           "optdyn": optdyn.__version__,
           "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip(),
           "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        out["grid"] = section_grid(Path(tmp))
        out["overhead"] = section_overhead(Path(tmp))
        if args.phases:
            out["phases"] = section_phases(Path(tmp))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
