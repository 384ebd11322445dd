"""``optdyn scaling``: the compute-optimal frontier of SGD or signSGD on power-law random features.

Runs :func:`optdyn.analysis.scaling.compute_optimal` for one (alpha, beta) point over model sizes
doubling from ``--d-min`` to ``--d-max`` and writes ``scaling.nc`` (the Dataset: ``slope``,
``slope_se``, ``d_star_slope``, ``predicted_slope`` (NaN where the phase has no formula), the
frontier, the slope's trend with d_max) and ``scaling.png`` (the curves with the frontier and the
fit, and the trend). SGD runs on the deterministic-equivalent measure (d to 10^5); signSGD needs
K_f's diagonal and runs on a sampled sketch (d to 8192).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from optdyn._core.errors import ConfigError

__all__ = ["add_parser", "main", "model_sizes"]

_D_LIMIT = {"equivalent": 100_000, "sampled": 8192}
_D_DEFAULT = {"equivalent": (100, 25600), "sampled": (32, 1024)}
_KIND = {"sgd": "sgd", "signsgd": "sign_sgd"}


def model_sizes(d_min: int, d_max: int) -> list[int]:
    """Model sizes from ``d_min`` to ``d_max``, both included, about doubling (at least 3)."""
    if d_min < 1:
        raise ConfigError("d_min", f"must be >= 1, got {d_min}")
    if d_max < 4 * d_min:
        raise ConfigError("d_max", f"must be at least 4 x d_min = {4 * d_min} (a frontier "
                          f"needs 3 sizes), got {d_max}")
    n = int(math.ceil(math.log2(d_max / d_min))) + 1
    return [int(x) for x in np.unique(np.round(np.geomspace(d_min, d_max, n)).astype(int))]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``scaling`` subcommand."""
    p = subparsers.add_parser(
        "scaling", help="compute-optimal frontier and exponents on power-law random features",
        description="The compute-optimal scaling of one-pass SGD or signSGD on power-law random "
                    "features PLRF(alpha, beta) (eigenvalues j^(-2 alpha), target j^(-beta), "
                    "v = V_RATIO x d, batch 1): for each model size d and step count the loss "
                    "at the best learning rate from the theory, the frontier over d at compute "
                    "f = d x steps, the fitted exponents of the loss and of the best d with "
                    "their standard errors, and SGD's phase formula beside them. SGD runs on "
                    "the deterministic-equivalent spectrum of K_f (no sampling, d to 10^5); "
                    "signSGD on a sampled K_f (d to 8192). Writes scaling.nc and scaling.png.",
        epilog="examples:\n"
               "  optdyn scaling --alpha 1 --beta 0.75 --out scaling_output\n"
               "  optdyn scaling --alpha 1 --beta 0.3 --schedule wsd --d-max 6400\n"
               "  optdyn scaling --alpha 0.75 --beta 1 --optimizer signsgd --d-max 1024")
    p.add_argument("--alpha", type=float, required=True,
                   help="feature decay: eigenvalues j^(-2 alpha)")
    p.add_argument("--beta", type=float, required=True,
                   help="target decay: coefficients j^(-beta) (2 alpha + 2 beta > 1)")
    p.add_argument("--optimizer", choices=sorted(_KIND), default="sgd",
                   help="the optimizer (default: sgd)")
    p.add_argument("--schedule", choices=("constant", "wsd"), default="constant",
                   help="constant rate, or stable-decay: constant then linear decay to 0 over "
                        "the last 20%% of the steps (default: constant)")
    p.add_argument("--spectrum", choices=("auto", "equivalent", "sampled"), default="auto",
                   help="K_f from its deterministic equivalent or from one sampled sketch "
                        "(auto: equivalent for sgd, sampled for signsgd)")
    p.add_argument("--d-min", type=int, default=None, metavar="N",
                   help="smallest model size (default: 100 equivalent, 32 sampled)")
    p.add_argument("--d-max", type=int, default=None, metavar="N",
                   help="largest model size (default: 25600 equivalent, 1024 sampled; at most "
                        "100000 and 8192)")
    p.add_argument("--steps-max", type=int, default=2**18, metavar="T",
                   help="longest run in steps (default: 262144); the grid starts at 16")
    p.add_argument("--v-ratio", type=int, default=4, metavar="R",
                   help="v / d, the number of latent features per parameter (default: 4)")
    p.add_argument("--out", type=Path, default=Path("scaling_output"), metavar="DIR",
                   help="output folder (default: scaling_output)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress lines")
    p.set_defaults(func=main)
    return p


def _figure(ds: Any, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from optdyn.plot.curves import save_figure
    from optdyn.plot.scaling import frontier_panel, slope_trend

    opt, sch = str(ds["optimizer"].values[0]), str(ds["schedule"].values[0])
    fig, axs = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    x = ds.sel(optimizer=opt, schedule=sch)
    frontier_panel(x, axs[0], title=f"{opt}, {sch} lr, {ds.attrs['spectrum']} K_f: loss at the "
                                    "best rate per d")
    slope_trend(ds, axs[1], schedule=sch, optimizer=opt)
    axs[1].set_title(r"fitted slope on $d \leq d_{\max}$ minus SGD's phase formula")
    fig.suptitle(rf"PLRF $\alpha = {ds.attrs['alpha']:g}$, $\beta = {ds.attrs['beta']:g}$ "
                 f"(phase {ds.attrs['phase']}), v = {ds.attrs['v_ratio']} d")
    return save_figure(fig, out / "scaling.png")


def main(args: argparse.Namespace) -> int:
    """Run ``optdyn scaling`` from parsed arguments."""
    from optdyn import io
    from optdyn.analysis.scaling import compute_optimal

    spectrum = args.spectrum
    if spectrum == "auto":
        spectrum = "equivalent" if args.optimizer == "sgd" else "sampled"
    if spectrum == "equivalent" and args.optimizer != "sgd":
        raise ConfigError("spectrum", "signSGD's theory needs the diagonal of K_f, which the "
                          "deterministic-equivalent measure does not carry: use --spectrum "
                          "sampled (d to 8192)")
    lo, hi = _D_DEFAULT[spectrum]
    d_min = lo if args.d_min is None else args.d_min
    d_max = hi if args.d_max is None else args.d_max
    if d_max > _D_LIMIT[spectrum]:
        raise ConfigError("d_max", f"at most {_D_LIMIT[spectrum]} with the {spectrum} "
                          f"spectrum, got {d_max}")
    if args.steps_max < 64:
        raise ConfigError("steps_max", f"must be >= 64, got {args.steps_max}")
    ds_list = model_sizes(d_min, d_max)
    t0 = time.perf_counter()
    ds = compute_optimal(args.alpha, args.beta, ds_list, t_max=args.steps_max,
                         v_ratio=args.v_ratio, optimizers=(_KIND[args.optimizer],),
                         schedules=(args.schedule,), spectrum=spectrum,
                         sgd_method="ode" if spectrum == "equivalent" else None,
                         progress=False if args.no_progress else None)
    ds.attrs.update(spectrum=spectrum, v_ratio=args.v_ratio, build_seconds=time.perf_counter() - t0)
    out = Path(args.out)
    print(f"wrote {io.save(ds, out / 'scaling.nc')}")
    print(f"wrote {_figure(ds, out)}")
    x = ds.isel(optimizer=0, schedule=0)
    pred = float(ds["predicted_slope"])
    print(f"PLRF alpha = {args.alpha:g}, beta = {args.beta:g} (phase {ds.attrs['phase']}), "
          f"{args.optimizer}, {args.schedule} lr, d = {ds_list[0]}..{ds_list[-1]} "
          f"({spectrum} spectrum), {time.perf_counter() - t0:.0f} s")
    print(f"  loss slope  {float(x['slope']):.4f} +- {float(x['slope_se']):.4f}   "
          f"SGD formula {pred:.4f}" + ("" if args.optimizer == "sgd" else " (SGD's, for scale)"))
    print(f"  d* slope    {float(x['d_star_slope']):.4f} +- {float(x['d_star_slope_se']):.4f}   "
          f"SGD formula {float(ds['predicted_d_star_slope']):.4f}")
    trend = ", ".join(f"{int(dm)}: {float(v):.3f}" for dm, v in
                      zip(ds["d_max"].values, x["slope_by_d_max"].values, strict=True))
    print(f"  slope by d_max  {trend}")
    return 0
