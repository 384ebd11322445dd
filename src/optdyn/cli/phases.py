"""``optdyn phases``: the (alpha, beta) phase diagram of SignSGD against SignSVD from the shell.

Computes :func:`optdyn.analysis.phases.phase_diagram` on a grid (template theory, or with
``--engine simulation`` the simulation itself, a sweep resumable from ``store/`` in the output
folder), optionally spot-checks sampled points by simulation, and writes ``phases.nc`` (the
Dataset), ``phases.png`` (the map with the candidate lines) and ``phases.md`` (the settings, the
label counts and the spot checks).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from optdyn import io
from optdyn._core.errors import ConfigError
from optdyn.cli.errors import guarded

__all__ = ["add_parser", "main", "parse_grid"]


def parse_grid(text: str, field: str) -> list[float]:
    """``"0.3,0.5,1"`` (a list) or ``"0.3:2:8"`` (start:stop:count, linear) -> floats."""
    try:
        if ":" in text:
            lo, hi, n = text.split(":")
            return [float(x) for x in np.linspace(float(lo), float(hi), int(n))]
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise ConfigError(field, f"expected 'a,b,c' or 'start:stop:count', got {text!r}") from e


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``phases`` subcommand."""
    p = subparsers.add_parser(
        "phases", help="(alpha, beta) phase diagram of SignSGD vs SignSVD (theory + spot checks)",
        description="The (alpha, beta) phase diagram of SignSGD against SignSVD (Muon's "
                    "idealisation) on matrix least squares with eigenvalues j^(-2 alpha) and "
                    "target j^(-beta): a point is SignSGD-favoured or SignSVD-favoured when that "
                    "method reaches the lower risk, each at its best constant learning rate, "
                    "at every batch size and horizon, and a trade-off otherwise. Computed by "
                    "the template theory (seconds per point) or, with --engine simulation, by "
                    "simulation (minutes per point; resumable). "
                    "Writes phases.nc, phases.png and phases.md to the output folder.",
        epilog="examples:\n"
               "  optdyn phases --alphas 0.3:2:8 --betas 0.1:2:8 --out phases_output\n"
               "  optdyn phases --alphas 0.5,1,1.5 --betas 0.5,1 --spot-checks 3\n"
               "  optdyn phases --engine simulation --d 128 --executor local --workers 8")
    p.add_argument("--alphas", default="0.3:2:8", metavar="GRID",
                   help="alpha grid (eigenvalues j^(-2 alpha)): a list 'a,b,c' or "
                        "'start:stop:count' (evenly spaced)")
    p.add_argument("--betas", default="0.1:2:8", metavar="GRID",
                   help="beta grid (target j^(-beta)), in the same forms as --alphas")
    p.add_argument("--d", type=int, default=256, help="input dimension")
    p.add_argument("--m", type=int, default=None,
                   help="output dimension (default: 2d)")
    p.add_argument("--batch-sizes", default="1,4,16,64", metavar="LIST",
                   help="batch sizes B over which a method must win to label a point "
                        "(same forms as --alphas)")
    p.add_argument("--horizons", default="100,1000,10000,100000", metavar="LIST",
                   help="horizons T (steps) over which a method must win to label a point "
                        "(same forms as --alphas)")
    p.add_argument("--sigma", type=float, default=0.5,
                   help="label-noise std; the template theory holds when label noise "
                        "dominates (at sigma = 0 its SignSVD law was measured 54%% off on "
                        "average, docs/muon.md A1)")
    p.add_argument("--basis", choices=("haar", "identity"), default="haar",
                   help="the eigenbasis of the covariance K: haar (generic) or identity "
                        "(axis-aligned)")
    p.add_argument("--engine", choices=("ode", "template", "simulation"), default="ode",
                   help="ode: the template theory through theory.run ('template' is its former "
                        "name); simulation: direct simulation (any regime; minutes per point; "
                        "resumes from OUT/store when interrupted)")
    p.add_argument("--seeds", type=int, default=2,
                   help="seeds per learning rate under --engine simulation")
    p.add_argument("--lrs-per-decade", type=int, default=4,
                   help="density of each method's learning-rate grid (rates per decade)")
    p.add_argument("--tie", type=float, default=0.02,
                   help="|log R_SignSGD - log R_SignSVD| below this counts as a tie (ignored "
                        "in the label)")
    p.add_argument("--spot-checks", type=int, default=0, metavar="N",
                   help="simulate N sampled points to check their labels (needs d >= 256 and "
                        "m >= 2d; 3 seeds each; default: 0, none)")
    p.add_argument("--spot-batch", type=int, default=16, metavar="B",
                   help="batch size of the spot checks (one of --batch-sizes)")
    p.add_argument("--spot-horizon", type=int, default=1000, metavar="T",
                   help="horizon of the spot checks (one of --horizons)")
    p.add_argument("--executor", default="inline", choices=("inline", "local", "dask"),
                   help="where the map's cases run: inline (this process), local (worker "
                        "processes) or dask (a LocalCluster)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes for --executor local or dask (default: the number "
                        "of CPUs for local, 2 for dask)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed: the Haar basis, the target's output directions and the "
                        "choice of spot-check points")
    p.add_argument("--out", type=Path, default=Path("phases_output"), metavar="DIR",
                   help="output folder (phases.nc, phases.png, phases.md; store/ under "
                        "--engine simulation)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress display")
    return p


def main(args: argparse.Namespace) -> int:
    """Run the ``phases`` subcommand; returns the exit status (2 on bad input)."""
    return guarded(_main, args)


def _main(args: argparse.Namespace) -> int:
    from optdyn.analysis.phases import LABELS, phase_diagram, spot_check
    from optdyn.plot import save_figure
    from optdyn.plot.phases import phase_map

    progress = False if args.no_progress else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ds = phase_diagram(parse_grid(args.alphas, "alphas"), parse_grid(args.betas, "betas"),
                       d=args.d, m=args.m,
                       batch_sizes=[int(x) for x in parse_grid(args.batch_sizes,
                                                               "batch_sizes")],
                       horizons=[int(x) for x in parse_grid(args.horizons, "horizons")],
                       sigma=args.sigma, tie=args.tie, seed=args.seed, basis=args.basis,
                       engine=args.engine, seeds=args.seeds,
                       lrs_per_decade=args.lrs_per_decade,
                       store=out / "store" if args.engine == "simulation" else None,
                       executor=args.executor, workers=args.workers,
                       progress=progress)
    spots = None
    if args.spot_checks > 0:
        valid = [(float(a), float(b)) for a in ds.alpha.values for b in ds.beta.values
                 if np.isfinite(ds.label.sel(alpha=a, beta=b))]
        rng = np.random.default_rng(args.seed)
        pick = rng.choice(len(valid), size=min(args.spot_checks, len(valid)), replace=False)
        spots = spot_check(ds, [valid[i] for i in sorted(pick)], batch_size=args.spot_batch,
                           horizon=args.spot_horizon, progress=progress)
    io.save(ds, out / "phases.nc")
    if spots is not None:
        io.save(spots, out / "spot_checks.nc")
    save_figure(phase_map(ds, spots=spots), out / "phases.png")
    counts = {LABELS[k]: int(np.sum(ds.label.values == k)) for k in LABELS}
    lines = [f"# optdyn phases (d={ds.attrs['d']}, m={ds.attrs['m']}, sigma={ds.attrs['sigma']}, "
             f"basis={ds.attrs['basis']}, engine={ds.attrs['engine']})", ""]
    if ds.attrs["sigma"] < 0.2 and ds.attrs["engine"] == "ode":
        lines += ["Warning: small label noise. The template laws assume the noise-dominated "
                  "regime; at sigma = 0 SignSVD's template was measured 54% off on average "
                  "(docs/muon.md, A1). Check the labels with --spot-checks.", ""]
    lines += [f"{ds.attrs['engine'].capitalize()} time: {ds.attrs['elapsed_s']:.1f} s. "
              f"Label counts: {counts}.", ""]
    if spots is not None:
        lines += ["| alpha | beta | sim log R_sgd/R_svd | theory | agree |",
                  "|---|---|---|---|---|"]
        for i in range(spots.sizes["point"]):
            s = spots.isel(point=i)
            lines.append(f"| {float(s.alpha):.3g} | {float(s.beta):.3g} | "
                         f"{float(s.sim_log_ratio):+.2f} | {float(s.theory_log_ratio):+.2f} | "
                         f"{bool(s.agree)} |")
    (out / "phases.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out / 'phases.nc'}, {out / 'phases.png'}, {out / 'phases.md'}")
    return 0
