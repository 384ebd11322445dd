"""Search for a SignSGD-favoured phase by direct simulation (no theory involved).

For each (alpha, beta) point and batch size, both methods run on the same MatrixRegression
(d, m = 2d) over a geometric learning-rate grid (``optdyn.theory.phases.lr_grid``, 3 per decade),
2 seeds; the best mean risk over the grid is read at each horizon, and the log ratio
log R_SignSGD - log R_SignSVD is printed (> 0: SignSVD wins) and stored as a Dataset. This is how
the README's sigma = 0 and axis-aligned findings for the phase diagram (A6) were measured:

    python examples/phase_search_sim.py --sigma 0 --basis haar --points 1:0.5,2:0.25
    python examples/phase_search_sim.py --sigma 0 --basis identity --points 1:0.5,2:0.25

About 10-30 s per (point, B) at d = 128, T = 3000 on 2 cores.
"""

from __future__ import annotations

import argparse

import numpy as np
import xarray as xr

from optdyn import simulate
from optdyn.optimizers import SignSGD, SignSVD
from optdyn.problems import MatrixRegression
from optdyn.theory.phases import lr_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sigma", type=float, default=0.0)
    ap.add_argument("--basis", choices=("haar", "identity"), default="haar")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-sizes", default="1,16")
    ap.add_argument("--points", default="1:0.5", help="alpha:beta pairs, comma separated")
    ap.add_argument("--out", default="phase_search_sim.nc")
    args = ap.parse_args()
    points = [tuple(float(v) for v in p.split(":")) for p in args.points.split(",")]
    bs = [int(b) for b in args.batch_sizes.split(",")]
    horizons = [h for h in (30, 100, 300, 1000, 3000, 10_000, 30_000) if h <= args.steps]
    out = np.full((len(points), len(bs), len(horizons)), np.nan)
    for ip, (a, b) in enumerate(points):
        prob = MatrixRegression.power_law(args.d, 2 * args.d, a, b, sigma=args.sigma,
                                          basis=args.basis, basis_seed=0, seed=0)
        for ib, bsz in enumerate(bs):
            best = {}
            for meth in ("signsgd", "signsvd"):
                grid = lr_grid(prob, meth, bsz, args.steps, per_decade=3)
                if meth == "signsgd":
                    opts = [SignSGD(float(g), batch_size=bsz) for g in grid]
                else:
                    how = "qr" if bsz < args.d else "svd"
                    opts = [SignSVD(float(g), batch_size=bsz, method=how) for g in grid]
                risk = simulate.run(prob, opts, args.steps, seeds=2, progress=False).risk
                risk = risk.mean("seed").sel(step=horizons, method="nearest")
                best[meth] = risk.where(np.isfinite(risk)).min("config").values
            out[ip, ib] = np.log(best["signsgd"]) - np.log(best["signsvd"])
            cells = " ".join(f"{h}:{v:+.2f}" for h, v in zip(horizons, out[ip, ib], strict=True))
            print(f"alpha={a} beta={b} B={bsz}: log R_SignSGD/R_SignSVD {cells}", flush=True)
    ds = xr.Dataset({"log_ratio": (("point", "batch_size", "horizon"), out)},
                    coords={"point": np.arange(len(points)), "batch_size": bs,
                            "horizon": horizons, "alpha": ("point", [p[0] for p in points]),
                            "beta": ("point", [p[1] for p in points])},
                    attrs={"d": args.d, "m": 2 * args.d, "sigma": args.sigma,
                           "basis": args.basis, "seeds": 2, "kind": "simulation"})
    ds["log_ratio"].attrs["long_name"] = "log R_SignSGD - log R_SignSVD at each method's best lr"
    ds.to_netcdf(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
