"""``optdyn spectrum ACTIVATION N0 N1 M``: a limiting conjugate-kernel spectrum from the shell.

Prints the constants (theta1, theta2, c2, E f), the atom at 0, the support edges and the
predicted largest eigenvalue (Benigni & Peche, arXiv 2201.04753, as reconstructed in
docs/theory/rmt.md section 7.2) for the given entry laws; ``--widths`` gives the multi-layer law;
``--plot`` writes the density (with a simulated histogram when ``--simulate``) to a PNG;
``--quantiles N`` prints N mid-quantiles (a covariance spectrum).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from optdyn._core.errors import ConfigError
from optdyn.cli.errors import guarded

__all__ = ["add_parser", "main"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``spectrum`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "spectrum", help="limiting spectrum of a random-network conjugate kernel f(WX)",
        description=__doc__.split("\n\n")[0].strip('"'))
    p.add_argument("activation", help="tanh, sin, erf, relu, relu_centred, abs_centred, linear, "
                                      "he2, he3, hardtanh")
    p.add_argument("n0", type=int, help="input dimension")
    p.add_argument("n1", type=int, help="width (number of features)")
    p.add_argument("m", type=int, help="number of samples")
    p.add_argument("--widths", type=str, default=None,
                   help="comma-separated widths n1,...,nL for the multi-layer law (overrides n1)")
    p.add_argument("--sigma-w", type=float, default=1.0, help="entry std of W (default 1)")
    p.add_argument("--sigma-x", type=float, default=1.0, help="entry std of X (default 1)")
    p.add_argument("--w-entries", default="gaussian",
                   help="entry law of W: gaussian, rademacher, uniform, sparse:P")
    p.add_argument("--x-entries", default="gaussian", help="entry law of X (as --w-entries)")
    p.add_argument("--quantiles", type=int, default=0, help="print this many mid-quantiles")
    p.add_argument("--simulate", action="store_true",
                   help="also sample one matrix: its Kolmogorov distance and top eigenvalue")
    p.add_argument("--seed", type=int, default=0, help="seed of --simulate")
    p.add_argument("--plot", type=Path, default=None, help="write the density to this PNG")
    p.set_defaults(func=main)
    return p


def _law(args: argparse.Namespace) -> Any:
    from optdyn.rmt.law import ConjugateKernel
    from optdyn.rmt.multilayer import MultiLayerConjugateKernel

    if args.widths:
        try:
            widths = [int(w) for w in args.widths.split(",")]
        except ValueError:
            raise ConfigError("widths", f"expected integers like 1000,800, got {args.widths!r}")\
                from None
        return MultiLayerConjugateKernel(args.activation, args.n0, widths, args.m,
                                         sigma_w=args.sigma_w, sigma_x=args.sigma_x)
    return ConjugateKernel(args.activation, args.n0, args.n1, args.m, sigma_w=args.sigma_w,
                           sigma_x=args.sigma_x)


def main(args: argparse.Namespace) -> int:
    """Run ``optdyn spectrum`` with parsed ``args``; returns the exit code (2 on bad input)."""
    return guarded(_main, args)


def _main(args: argparse.Namespace) -> int:
    import numpy as np

    from optdyn.rmt import empirical

    law = _law(args)
    w_law, x_law = empirical.entry_law(args.w_entries), empirical.entry_law(args.x_entries)
    print(f"law: {law.name}, n0 = {law.n0}, m = {law.m}")
    if hasattr(law, "constants"):
        c = law.constants
        print(f"theta1 = {c.theta1:.6g}  theta2 = {c.theta2:.6g}  c2 = {c.c2:.6g}  "
              f"E f = {c.mean:.6g}  gamma = n1/m = {law.gamma:.6g}  psi = n0/n1 = {law.psi:.6g}")
    left, right = law.support()
    print(f"atom at 0 = {law.atom:.6g}")
    print(f"support = [{left:.8g}, {right:.8g}]"
          + (f" in {len(law.intervals())} intervals" if len(law.intervals()) > 1 else ""))
    top = None
    if hasattr(law, "spikes"):
        sp = law.spikes(w_law.kurtosis, x_law.kurtosis)
        print(f"spike strengths s_W^2 = {sp.s_w2:.6g}, s_X^2 = {sp.s_x2:.6g}, "
              f"n1 (E f)^2 = {sp.mean2:.6g}; BBP threshold = {sp.threshold:.6g}")
        print(f"outliers = {sp.n_outliers}; largest eigenvalue -> {sp.largest:.8g}")
        top = sp.largest
    if args.quantiles:
        q = law.quantiles(args.quantiles)
        print("quantiles = " + " ".join(f"{v:.6g}" for v in q))
    ev = None
    if args.simulate:
        if args.widths:
            widths = [int(w) for w in args.widths.split(",")]
            ev = empirical.sample_multilayer_eigenvalues(
                args.activation, args.n0, widths, args.m, seed=args.seed, entries=w_law,
                x_entries=x_law, sigma_w=args.sigma_w, sigma_x=args.sigma_x)[-1]
        else:
            ev = empirical.sample_eigenvalues(args.activation, args.n0, args.n1, args.m,
                                              seed=args.seed, w_entries=w_law, x_entries=x_law,
                                              sigma_w=args.sigma_w, sigma_x=args.sigma_x)
        print(f"simulated: Kolmogorov distance = {empirical.kolmogorov_distance(ev, law):.4g}, "
              f"largest eigenvalue = {ev[-1]:.6g}")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        hi = 1.1 * max(right, float(ev[-1]) if ev is not None else 0.0)
        x = np.linspace(0.0, hi, 1000)[1:]
        fig, ax = plt.subplots(figsize=(6, 4))
        if ev is not None:
            nz = ev[ev > 1e-9 * max(ev[-1], 1e-300)]
            ax.hist(nz, bins=80, range=(0, hi), density=True, alpha=0.4, label="simulation",
                    weights=np.full(nz.size, nz.size / ev.size) if nz.size else None)
        ax.plot(x, law.density(x), "k", lw=1.2, label="limiting density")
        if top is not None and top > right * (1 + 1e-9):
            ax.axvline(top, color="C3", ls="--", label="predicted outlier")
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density (continuous part)")
        ax.set_title(f"{law.name}: atom {law.atom:.3g}, edges [{left:.3g}, {right:.3g}]")
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=130)
        plt.close(fig)
        print(f"wrote {args.plot}")
    return 0
