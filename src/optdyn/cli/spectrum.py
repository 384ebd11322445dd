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
        description="The limiting eigenvalue spectrum of the conjugate kernel f(WX) of a random "
                    "network, with W (N1 x N0) and X (N0 x M) of independent entries: prints "
                    "the Gaussian constants of f (theta1, theta2, c2, E f), the atom at 0, the "
                    "support edges and the predicted largest eigenvalue. --widths gives the "
                    "law of a deep network; --simulate compares one sampled matrix; --plot "
                    "draws the density.",
        epilog="examples:\n"
               "  optdyn spectrum tanh 1000 1500 2000\n"
               "  optdyn spectrum relu 1000 800 1200 --widths 1000,800 --quantiles 5\n"
               "  optdyn spectrum tanh 400 600 800 --simulate --plot spectrum.png")
    p.add_argument("activation", metavar="ACTIVATION",
                   help="the activation f: tanh, sin, erf, relu, relu_centred, abs, "
                        "abs_centred, linear, he2, he3 or hardtanh")
    p.add_argument("n0", type=int, metavar="N0", help="input dimension (rows of X)")
    p.add_argument("n1", type=int, metavar="N1",
                   help="width: the number of features (rows of W)")
    p.add_argument("m", type=int, metavar="M", help="number of samples (columns of X)")
    p.add_argument("--widths", type=str, default=None, metavar="N1,...,NL",
                   help="comma-separated widths of a deep network, for the multi-layer law "
                        "(replaces N1; default: one layer of width N1)")
    p.add_argument("--sigma-w", type=float, default=1.0, help="entry std of W")
    p.add_argument("--sigma-x", type=float, default=1.0, help="entry std of X")
    p.add_argument("--w-entries", default="gaussian", metavar="LAW",
                   help="entry law of W: gaussian, rademacher, uniform or sparse:P, where P "
                        "is the fraction of nonzero entries")
    p.add_argument("--x-entries", default="gaussian", metavar="LAW",
                   help="entry law of X (the same laws as --w-entries)")
    p.add_argument("--quantiles", type=int, default=0, metavar="N",
                   help="print N mid-quantiles of the law, usable as the eigenvalues of a "
                        "covariance (default: 0, none)")
    p.add_argument("--simulate", action="store_true",
                   help="also sample one matrix: its Kolmogorov distance to the law and its top "
                        "eigenvalue")
    p.add_argument("--seed", type=int, default=0, help="random seed of --simulate")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG",
                   help="write the density to this PNG file (with a histogram of the sample "
                        "under --simulate; default: no figure)")
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

        from optdyn.plot import save_figure, style

        hi = 1.1 * max(right, float(ev[-1]) if ev is not None else 0.0)
        x = np.linspace(0.0, hi, 1000)[1:]
        fig, ax = plt.subplots(figsize=(6, 4))
        if ev is not None:
            nz = ev[ev > 1e-9 * max(ev[-1], 1e-300)]
            ax.hist(nz, bins=80, range=(0, hi), density=True, alpha=0.45, label="simulation",
                    color=style.PALETTE[0],
                    weights=np.full(nz.size, nz.size / ev.size) if nz.size else None)
        ax.plot(x, law.density(x), "k", lw=1.2, label="limiting density")
        if top is not None and top > right * (1 + 1e-9):
            ax.axvline(top, color=style.PALETTE[3], ls="--", label="predicted outlier")
        ax.set_xlabel(r"eigenvalue $\lambda$")
        ax.set_ylabel(r"density $\rho(\lambda)$ (continuous part)")
        ax.set_title(f"{law.name}: atom at 0 = {law.atom:.3g}, "
                     rf"support $[{left:.3g}, {right:.3g}]$")
        style.legend(ax, fontsize=8)
        fig.tight_layout()
        save_figure(fig, args.plot, dpi=130)
        print(f"wrote {args.plot}")
    return 0
