"""Speed benchmark of the phase diagram's theory grid (``optdyn.analysis.phases``).

(a) grid       ``phase_diagram`` on alpha in {0.5, 1, 1.5, 2} x beta in {0.1, 0.5, 1, 2}, d = 256,
               m = 512, B in {1, 4, 16, 64}, T in {1e2, 1e3, 1e4, 1e5}, sigma = 0.5: wall time of a
               second call (after compilation) and the time per (point, method, B) cell.
(b) reference  one cell (alpha = 1, beta = 0.5, B = 16, SignSVD) the way a notebook computes it:
               the template recursion rho <- rho - 2 lr g rho / s + lr^2 n stepped one optimizer
               step at a time in NumPy, vectorised over the modes, looping over the same learning-
               rate grid, to T = 1e5. Reported: its time, the engine's time for the same cell
               (``best_rates``), their ratio, and the largest relative difference of the best
               risks at the four horizons (the engine's ODE against the per-step recursion).

Run ``python benchmarks/bench_phases.py`` (~2-4 min on 2 cores); JSON to
``benchmarks/results-phases.json``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time

import numpy as np

import optdyn
from optdyn.analysis.phases import best_rates, lr_grid, phase_diagram
from optdyn.problems import MatrixRegression
from optdyn.theory.matrix_profiles import f_B, projector_loads

HORIZONS = (100, 1000, 10_000, 100_000)


def _reference_cell(p: MatrixRegression, b: int) -> tuple[np.ndarray, float]:
    lam = p.eigenvalues
    g, n = f_B(lam, b), projector_loads(lam, b)
    grid = lr_grid(p, "signsvd", b, max(HORIZONS))
    best = np.full(len(HORIZONS), np.inf)
    t0 = time.perf_counter()
    for lr in grid:
        rho = p.rho0.copy()
        k = 0
        for ih, t in enumerate(HORIZONS):
            while k < t:
                s = math.sqrt(float(lam @ rho) + p.noise_second_moment)
                rho = np.maximum(rho - 2 * lr * g * rho / s + lr * lr * n, 0.0)
                k += 1
            best[ih] = min(best[ih], 0.5 * float(lam @ rho))
    return best, time.perf_counter() - t0


def main() -> None:
    kw = dict(d=256, batch_sizes=(1, 4, 16, 64), horizons=HORIZONS, sigma=0.5, progress=False)
    axes = ((0.5, 1.0, 1.5, 2.0), (0.1, 0.5, 1.0, 2.0))
    phase_diagram(*axes, **kw)  # compile
    t0 = time.perf_counter()
    ds = phase_diagram(*axes, **kw)
    grid_s = time.perf_counter() - t0
    cells = int(np.isfinite(ds.label.values).sum()) * 2 * 4
    p = MatrixRegression.power_law(256, 512, 1.0, 0.5, sigma=0.5)
    best_rates(p, "signsvd", 16, HORIZONS)
    t0 = time.perf_counter()
    eng, _ = best_rates(p, "signsvd", 16, HORIZONS)
    cell_s = time.perf_counter() - t0
    ref, ref_s = _reference_cell(p, 16)
    out = {
        "grid_s": grid_s, "cells": cells, "per_cell_s": grid_s / cells,
        "engine_cell_s": cell_s, "reference_cell_s": ref_s, "speedup": ref_s / cell_s,
        "max_rel_diff_best_risk": float(np.max(np.abs(eng / ref - 1))),
        "labels": {str(k): int(np.sum(ds.label.values == k)) for k in (-1, 0, 1)},
        "machine": platform.platform(), "cpus": os.cpu_count(), "optdyn": optdyn.__version__,
        "load": os.getloadavg()[0],
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
    }
    path = os.path.join(os.path.dirname(__file__), "results-phases.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("| case | time | note |\n|---|---|---|")
    print(f"| phase grid, {cells} cells (d=256) | {grid_s:.1f} s | {grid_s / cells * 1e3:.0f} ms "
          "per cell |")
    print(f"| one cell, engine | {cell_s:.2f} s | |")
    print(f"| one cell, NumPy per-step reference | {ref_s:.1f} s | engine {ref_s / cell_s:.0f}x "
          f"faster; best risks differ by <= {out['max_rel_diff_best_risk']:.2%} |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
