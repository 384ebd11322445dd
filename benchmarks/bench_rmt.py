"""Speed of the conjugate-kernel density solver (optdyn.rmt), CPU, float64.

Prints the time of a 1000-point density of the one-layer law (target: under 1 s for interactive
use; issue 8), of its support edges (discriminant roots), CDF table and 1000 quantiles, and of a
300-point density of the three-layer law. Run: ``python benchmarks/bench_rmt.py``.
"""

from __future__ import annotations

import json
import time

import numpy as np

from optdyn.rmt import ConjugateKernel, MultiLayerConjugateKernel


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> dict[str, float]:
    out: dict[str, float] = {}
    for f, shape in [("tanh", (1000, 1000, 2000)), ("relu_centred", (800, 1500, 1000))]:
        ck = ConjugateKernel(f, *shape)
        x = np.linspace(0.0, 1.1 * ck.upper_bound / 1.05, 1000)[1:]
        out[f"density_1000pt_{f}_s"] = _best(lambda ck=ck, x=x: ck.density(x))
        out[f"support_{f}_s"] = _best(lambda f=f, shape=shape: ConjugateKernel(f, *shape)
                                      .support(), repeat=1)
        fresh = ConjugateKernel(f, *shape)
        out[f"cdf_table_and_1000_quantiles_{f}_s"] = _best(lambda fresh=fresh: fresh.quantiles(
            1000), repeat=1)
    ml = MultiLayerConjugateKernel("tanh", 1200, (1000, 1400, 900), 700)
    xs = np.linspace(0.001, 1.9, 300)
    out["density_300pt_3layer_tanh_s"] = _best(lambda: ml.density(xs), repeat=1)
    for k, v in out.items():
        print(f"{k:45s} {v:8.3f}")
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
