"""GPU figures of both engines, through the same code as on CPU.

    python benchmarks/bench_gpu.py [--out benchmarks/results-gpu.json] [--cpu]

Cases: (a) simulation, d = 4096, 64 seeds, SGD at 0.5 / Tr K on a power law (alpha = 1),
Gaussian label noise 0.1, 10^4 steps, float32; (b) theory, SGD at 256 learning rates on the
d = 10^4 system of bench_theory.py, 10^6 steps, float64. Each is timed on its second call
(the first compiles), with the device JAX ran it on. Without a GPU the script says so and
stops, unless ``--cpu`` asks for the same cases on the CPU (for a ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_theory import _problem  # noqa: E402

from optdyn import noise, simulate, theory  # noqa: E402
from optdyn.optimizers import SGD  # noqa: E402
from optdyn.problems import LinearRegression, RandomVector, spectra  # noqa: E402


def _twice(fn):
    fn()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results-gpu.json"))
    ap.add_argument("--cpu", action="store_true", help="run the cases even without a GPU")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: d = 512, 8 seeds, 16 rates at 1000 modes")
    args = ap.parse_args()
    d_sim, seeds, n_lr, d_th = (512, 8, 16, 1000) if args.quick else (4096, 64, 256, 10_000)
    backend = jax.default_backend()
    device = str(jax.devices()[0].device_kind)
    res: dict = {"backend": backend, "device": device, "jax": jax.__version__,
                 "date": time.strftime("%Y-%m-%d %H:%M"), "loadavg": os.getloadavg()}
    if backend != "gpu" and not args.cpu:
        print(f"no GPU (JAX backend {backend!r}, device {device!r}): GPU figures skipped")
        return
    lam = spectra.power_law(d_sim, 1.0)
    p = LinearRegression(eigenvalues=lam, theta_star=RandomVector(1.0),
                         noise=noise.Gaussian(0.1))
    ts, sim = _twice(lambda: simulate.run(p, SGD(0.5 / lam.sum()), 10_000, seeds=seeds))
    res.update(sim_d=d_sim, sim_seeds=seeds, sim_s=ts, sim_steps_seeds_per_s=10_000 * seeds / ts,
               sim_final_risk=float(np.mean(sim.risk.values[..., -1])))
    print(f"(a) simulation d={d_sim}, {seeds} seeds, 1e4 steps on {device}: {ts:.2f} s "
          f"({res['sim_steps_seeds_per_s'] / 1e6:.2f} M step-seeds/s)", flush=True)
    q = _problem(d_th)
    crit = theory.critical_lr(q, SGD(0.1))
    lrs = np.geomspace(0.01, 0.9, n_lr) * crit
    tt, th = _twice(lambda: theory.run(q, [SGD(x) for x in lrs], 10**6))
    rate = float(np.sum(th.n_substeps.values)) * q.d / tt
    res.update(theory_rates=n_lr, theory_modes=d_th, theory_s=tt, theory_mode_updates_per_s=rate)
    print(f"(b) theory, {n_lr} rates at {d_th} modes on {device}: {tt:.2f} s "
          f"({rate / 1e6:.0f} M mode updates/s)", flush=True)
    Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
