"""Speed of SignSVD's exact polar factor: the low-rank QR path against the dense thin SVD.

The mini-batch gradient of matrix least squares is G = (1/B) X^T E with X (B, d), E (B, m), so
rank G <= B. SignSVD needs polar(G) = U sign(S) V^T (Paquette et al., "Phases of Muon", arXiv
2605.09552; docs/theory/muon.md section 1.2). Two exact ways, both in
:mod:`optdyn.optimizers.polar`:

* dense: form G (d x m), then :func:`polar_svd` (thin SVD, O(d m min(d, m)));
* low rank: :func:`polar_lowrank` on the factors: X^T = Q1 R1, E^T = Q2 R2, then
  polar(G) = Q1 polar(R1 R2^T) Q2^T, O((d + m) B^2) plus O(d m B) to write the result.

Both are jitted, warmed up, and timed as the median of ``--repeat`` calls (each blocked until
ready) on the same (X, E) at B = 16, d = m = 1024, in float32 and float64, once with OpenBLAS (the
LAPACK that JAX's CPU QR/SVD kernels call, loaded through SciPy) at its default thread count and
once limited to one thread (threadpoolctl). The script checks that the two agree (max |difference|
and the rank both keep), prints a Markdown table and writes JSON (default
``benchmarks/results-polar.json``). Run: ``python benchmarks/bench_polar.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg  # noqa: F401  (loads the OpenBLAS behind JAX's LAPACK kernels)
from bench_simulate import machine_info  # the benchmarks' shared machine record
from threadpoolctl import threadpool_info, threadpool_limits

from optdyn.optimizers.polar import polar_lowrank, polar_svd

HERE = Path(__file__).resolve().parent


def _median_time(fn, *args, repeat: int) -> tuple[float, list[float]]:
    jax.block_until_ready(fn(*args))  # compile and warm up
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def bench_case(b: int, d: int, m: int, dtype: str, repeat: int, seed: int = 0) -> dict:
    """Time the dense-SVD and low-rank-QR polar factors of G = X^T E / B; check they agree."""
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal((b, d)), dtype)
    e = jnp.asarray(rng.standard_normal((b, m)), dtype)

    dense = jax.jit(lambda x, e: polar_svd((x.T @ e) / x.shape[0]))
    lowrank = jax.jit(lambda x, e: polar_lowrank(x, e))
    t_svd, ts_svd = _median_time(dense, x, e, repeat=repeat)
    t_qr, ts_qr = _median_time(lowrank, x, e, repeat=repeat)
    p_svd = np.asarray(dense(x, e), dtype=np.float64)
    p_qr = np.asarray(lowrank(x, e), dtype=np.float64)
    return dict(
        B=b, d=d, m=m, dtype=dtype, repeat=repeat,
        svd_s=t_svd, qr_s=t_qr, speedup=t_svd / t_qr, svd_times_s=ts_svd, qr_times_s=ts_qr,
        max_abs_diff=float(np.max(np.abs(p_svd - p_qr))),
        rank_svd=round(float(np.sum(p_svd * p_svd))), rank_qr=round(float(np.sum(p_qr * p_qr))),
        eps=float(jnp.finfo(dtype).eps),
    )


def table(rows: list[dict]) -> str:
    lines = ["| B | d x m | dtype | BLAS threads | dense SVD (s) | low-rank QR (s) | speed-up | "
             "max abs diff | rank (SVD / QR) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['B']} | {r['d']} x {r['m']} | {r['dtype']} | {r['blas_threads']} | "
                     f"{r['svd_s']:.4g} | "
                     f"{r['qr_s']:.3g} | {r['speedup']:.0f}x | {r['max_abs_diff']:.2g} | "
                     f"{r['rank_svd']} / {r['rank_qr']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--d", type=int, default=1024)
    p.add_argument("--m", type=int, default=1024)
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--blas-threads", default="default,1",
                   help="OpenBLAS thread settings to run, comma-separated ('default' or a count)")
    p.add_argument("--out", type=Path, default=HERE / "results-polar.json")
    args = p.parse_args(argv)
    info = machine_info()
    info["blas"] = [{k: lib.get(k) for k in ("filepath", "version", "num_threads")}
                    for lib in threadpool_info() if lib.get("user_api") == "blas"]
    rows = []
    for threads in args.blas_threads.split(","):
        for dt in args.dtypes.split(","):
            if threads == "default":
                r = bench_case(args.batch, args.d, args.m, dt, args.repeat)
            else:
                with threadpool_limits(int(threads), user_api="blas"):
                    r = bench_case(args.batch, args.d, args.m, dt, args.repeat)
            r["blas_threads"] = threads
            print(f"{dt}, BLAS threads {threads}: SVD {r['svd_s']:.4g} s, QR {r['qr_s']:.3g} s, "
                  f"x{r['speedup']:.0f}, max |diff| {r['max_abs_diff']:.2g}", flush=True)
            rows.append(r)
    info["loadavg_end"] = list(os.getloadavg())
    args.out.write_text(json.dumps(dict(machine=info, results=rows), indent=2) + "\n")
    print()
    print(table(rows))
    print(f"\nJSON: {args.out}; load average start {info['loadavg_start'][0]:.2f}, "
          f"end {info['loadavg_end'][0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
