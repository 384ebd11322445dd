"""Latency of a first theory curve, as whole processes, against the peer's forward Euler.

    python benchmarks/bench_latency.py [--repeat 5] [--out benchmarks/results-latency.json]

Cases (latency/peer_euler.py states the equations and inputs): signSGD at d = 400 for 10^4
steps and clipped SGD at d = 500 for 10^6 steps. Each is run as a fresh Python process:

- peer: latency/peer_euler.py (NumPy and scipy.special, forward Euler);
- optdyn, first process ever: latency/first_curve.py with an empty compilation cache;
- optdyn, second process: the same with the cache the first one left (warm);
- optdyn without the cache (OPTDYN_COMPILATION_CACHE=off).

Reported: wall time of each process (median over --repeat; the cold case gets a fresh cache
folder each time), the import time and the call time inside optdyn's process, their ratios
to the peer, and the agreement of the two curves (relative difference of the peer's curve,
interpolated, to optdyn's at optdyn's checkpoints after the first 100 steps). Also the time
xarray spends importing dask at the first Dataset when dask is installed (it checks every
array for a dask type), which optdyn's process pays in an environment with the dask extra;
``--hide-dask`` measures optdyn's side as in an install without it (a sitecustomize that makes
``import dask`` fail, in this benchmark's processes only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PY = sys.executable


_HIDE_DASK = """
import sys
class _NoDask:
    # wraps the path finder: dask and distributed are not found, as if not installed
    def __init__(self, inner):
        self.inner = inner
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            return None
        return self.inner.find_spec(name, path, target)
    def __getattr__(self, attr):
        return getattr(self.inner, attr)
sys.meta_path[:] = [_NoDask(f) if getattr(f, "__name__", "") == "PathFinder" else f
                    for f in sys.meta_path]
"""


def _run(script: str, kind: str, out: Path, env: dict[str, str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    res = subprocess.run([PY, str(HERE / "latency" / script), kind, str(out)], env=env,
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    fields = dict(kv.split("=") for kv in res.stdout.split() if "=" in kv)
    return wall, {k: float(v) for k, v in fields.items()}


def _agreement(peer: Path, ours: Path) -> tuple[float, float]:
    p, o = np.load(peer), np.load(ours)
    ks, ro = o[0], o[1]
    m = (ks >= 100) & (ks <= p[0][-1])
    rel = np.abs(np.interp(ks[m], p[0], p[1]) / ro[m] - 1)
    return float(rel.mean()), float(rel.max())


def _dask_import_s(env: dict[str, str]) -> float | None:
    code = ("import time, numpy, xarray\nt = time.perf_counter()\ntry:\n import dask.array\n"
            " print(time.perf_counter() - t)\nexcept ImportError:\n print('none')")
    out = subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    return None if out == "none" else float(out)


def _import_optdyn_s(env: dict[str, str]) -> float:
    code = "import time; t = time.perf_counter(); import optdyn; print(time.perf_counter() - t)"
    return float(subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "results-latency.json"))
    ap.add_argument("--hide-dask", action="store_true",
                    help="run optdyn's processes as if dask were not installed")
    args = ap.parse_args()
    env0 = {k: v for k, v in os.environ.items() if k != "OPTDYN_COMPILATION_CACHE"}
    hide = tempfile.TemporaryDirectory()
    if args.hide_dask:
        Path(hide.name, "sitecustomize.py").write_text(_HIDE_DASK)
        env0["PYTHONPATH"] = os.pathsep.join(filter(None, [hide.name,
                                                           env0.get("PYTHONPATH")]))
    res: dict = {"hide_dask": args.hide_dask, "python": sys.version.split()[0],
                 "cpus": os.cpu_count(),
                 "loadavg_start": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M"),
                 "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                          capture_output=True, text=True).stdout.strip()}
    res["import_optdyn_s"] = statistics.median(_import_optdyn_s(env0) for _ in range(args.repeat))
    res["xarray_dask_import_s"] = _dask_import_s(env0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind in ("sign", "clip"):
            row: dict = {}
            peer = [_run("peer_euler.py", kind, tmp / "peer.npy", env0)
                    for _ in range(args.repeat)]
            row["peer_wall_s"] = statistics.median(w for w, _ in peer)
            row["peer_compute_s"] = statistics.median(f["compute_s"] for _, f in peer)
            cold, warm = [], []
            for i in range(args.repeat):
                env = {**env0, "OPTDYN_COMPILATION_CACHE": str(tmp / f"cache{kind}{i}" / "jax")}
                cold.append(_run("first_curve.py", kind, tmp / "ours.npy", env))
                warm.append(_run("first_curve.py", kind, tmp / "ours.npy", env))
            off = [_run("first_curve.py", kind, tmp / "ours.npy",
                        {**env0, "OPTDYN_COMPILATION_CACHE": "off"}) for _ in range(args.repeat)]
            for name, runs in (("cold", cold), ("warm", warm), ("nocache", off)):
                row[f"{name}_wall_s"] = statistics.median(w for w, _ in runs)
                row[f"{name}_import_s"] = statistics.median(f["import_s"] for _, f in runs)
                row[f"{name}_call_s"] = statistics.median(f["compute_s"] for _, f in runs)
                row[f"{name}_over_peer"] = row[f"{name}_wall_s"] / row["peer_wall_s"]
            row["rel_diff_mean"], row["rel_diff_max"] = _agreement(tmp / "peer.npy",
                                                                   tmp / "ours.npy")
            res[kind] = row
            print(f"{kind}: peer {row['peer_wall_s']:.2f} s (compute {row['peer_compute_s']:.2f})"
                  f" | optdyn cold {row['cold_wall_s']:.2f} s, warm {row['warm_wall_s']:.2f} s "
                  f"(import {row['warm_import_s']:.2f} + call {row['warm_call_s']:.2f}), no cache "
                  f"{row['nocache_wall_s']:.2f} s | warm/peer {row['warm_over_peer']:.2f}, "
                  f"cold/peer {row['cold_over_peer']:.2f} | curves "
                  f"{100 * row['rel_diff_mean']:.2f}% mean, {100 * row['rel_diff_max']:.2f}% max",
                  flush=True)
    res["loadavg_end"] = os.getloadavg()
    print(f"import optdyn {res['import_optdyn_s']:.2f} s; xarray's dask import at the first "
          f"Dataset: {res['xarray_dask_import_s']}")
    Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
