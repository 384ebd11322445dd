"""optdyn's side of bench_latency.py: the first theory curve of a fresh process, imports
included, on the problem of peer_euler.py (see there).

    python first_curve.py sign|clip OUT.npy
"""

import sys
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402

from optdyn import noise, theory  # noqa: E402
from optdyn.optimizers import ClippedSGD, SignSGD  # noqa: E402
from optdyn.problems import LinearRegression  # noqa: E402

t_import = time.perf_counter() - t0


def problem(d: int, sigma: float) -> LinearRegression:
    lam = np.arange(1, d + 1, dtype=float) ** -1.0
    ts = np.arange(1, d + 1, dtype=float) ** -0.5
    return LinearRegression(eigenvalues=lam, theta_star=ts / np.linalg.norm(ts),
                            noise=noise.Gaussian(sigma))


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    t1 = time.perf_counter()
    if kind == "sign":
        res = theory.run(problem(400, 0.1), SignSGD(1e-3), 10_000)
    else:
        p = problem(500, 0.5)
        res = theory.run(p, ClippedSGD(0.05 / p.trace, threshold=0.5 * np.sqrt(p.trace)),
                         1_000_000)
    np.save(out, np.stack([res["step"].values.astype(float), res["risk"].values]))
    t2 = time.perf_counter()
    print(f"import_s={t_import:.4f} compute_s={t2 - t1:.4f}")
