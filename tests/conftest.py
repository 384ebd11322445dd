import os

os.environ.setdefault("MPLBACKEND", "Agg")

import optdyn  # noqa: E402,F401  (enables float64 in JAX before tests build arrays)


def labelled_ticks(axis) -> int:
    """How many ticks (major and minor) in an axis's view carry a non-empty label."""
    lo, hi = sorted(axis.get_view_interval())
    n = 0
    for locs, fmt in ((axis.get_majorticklocs(), axis.get_major_formatter()),
                      (axis.get_minorticklocs(), axis.get_minor_formatter())):
        locs = [v for v in locs if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
        n += sum(bool(s.strip()) for s in fmt.format_ticks(locs))
    return n


def acceptance_problem(cov: str, d: int, nz):
    """The two covariances of the theory-against-simulation acceptance checks: ``"diag"``, a
    power law j^(-0.2) with R0 about 2.5, and ``"toeplitz"``, D^1/2 Toeplitz(0.5^|i-j|) D^1/2
    with D log-uniform on [1/4, 4] (docs/theory/signsgd.md section 7.2)."""
    import numpy as np

    from optdyn.problems import LinearRegression, RandomVector, spectra

    if cov == "diag":
        lam = spectra.power_law(d, 0.2)
        target = RandomVector(np.sqrt(5.0 * d / lam.sum()))  # R0 about 2.5
        return LinearRegression(eigenvalues=lam, theta_star=target, noise=nz, seed=1)
    k = spectra.toeplitz_covariance(d, 0.5, diag_range=(0.25, 4.0), seed=2)
    return LinearRegression(covariance=k, theta_star=RandomVector(2.0), noise=nz, seed=1)
