"""Scalar laws a(R) tabulated once in float64 and evaluated inside compiled code.

The reduction factors of clipped SGD and the drift factor of signSGD are expectations over the
label-noise law (closed forms for some laws, adaptive quadrature for the others, see
:mod:`optdyn.theory.factors`). The integrator needs them at every step inside ``jit``, so each is
tabulated on a uniform grid in u = log R and interpolated as a cubic spline of log a(R) in u:

    log a(R) = P_i(u - u_i),  u_i <= u < u_{i+1},

with linear extrapolation of log a in log R outside the table (the laws are power laws there:
c(R) ~ R^(-1/2) and mu ~ R^(-1/2) as R -> inf, constants or powers of R as R -> 0). A table is a
pytree of arrays, so tables of different configs stack and vmap like any hyperparameter.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

__all__ = ["log_table", "table_eval", "TABLE_DECADES"]

# default table: R in [R_ref 10^-12, R_ref 10^12] at 24 points per decade (1e-8 relative accuracy
# for the smooth laws; checked in tests/test_theory_tables.py)
TABLE_DECADES = (-12.0, 12.0)
_PER_DECADE = 24


def log_table(
    fn: Callable[[np.ndarray], np.ndarray],
    r_ref: float,
    decades: tuple[float, float] = TABLE_DECADES,
    per_decade: int = _PER_DECADE,
) -> dict[str, np.ndarray]:
    """Tabulate a positive function of R on [r_ref 10^lo, r_ref 10^hi].

    Returns a dict of arrays: ``u0`` and ``du`` (grid start and spacing in log R), ``coef``
    (4, n - 1) spline coefficients of log fn, and the end slopes for extrapolation.
    """
    lo, hi = decades
    n = int(round((hi - lo) * per_decade)) + 1
    u = np.log(r_ref) + np.linspace(lo, hi, n) * np.log(10.0)
    vals = np.asarray(fn(np.exp(u)), dtype=float)
    if vals.shape != u.shape or not np.all(np.isfinite(vals)) or np.any(vals < 0):
        bad = np.exp(u[~(np.isfinite(vals) & (vals >= 0))][:3])
        raise ValueError(f"tabulated law must be finite and >= 0; it is not at R = {bad}")
    # laws that vanish faster than any power (e.g. mu for Rademacher noise above the threshold
    # as R -> 0) are floored: such risks are far below any risk floor of those laws
    vals = np.maximum(vals, 1e-300)
    from scipy.interpolate import CubicSpline  # scipy.interpolate costs 0.1 s: on first use

    spline = CubicSpline(u, np.log(vals), bc_type="not-a-knot")
    d_lo, d_hi = spline(u[[0, -1]], 1)
    return {
        "u0": np.float64(u[0]),
        "du": np.float64(u[1] - u[0]),
        "coef": np.asarray(spline.c, dtype=float),
        "y_ends": np.log(vals[[0, -1]]),
        "slope_ends": np.asarray([d_lo, d_hi], dtype=float),
    }


def table_eval(table: dict, r: jnp.ndarray) -> jnp.ndarray:
    """Evaluate a :func:`log_table` at risks ``r`` (traceable; r <= 0 maps to the low end)."""
    u = jnp.log(jnp.maximum(r, 1e-300))
    n_int = table["coef"].shape[-1]
    x = (u - table["u0"]) / table["du"]
    i = jnp.clip(jnp.floor(x), 0, n_int - 1).astype(jnp.int32)
    s = u - (table["u0"] + i * table["du"])
    c = table["coef"]
    inner = ((c[0, i] * s + c[1, i]) * s + c[2, i]) * s + c[3, i]
    u_hi = table["u0"] + n_int * table["du"]
    below = table["y_ends"][0] + table["slope_ends"][0] * (u - table["u0"])
    above = table["y_ends"][1] + table["slope_ends"][1] * (u - u_hi)
    y = jnp.where(x < 0, below, jnp.where(x > n_int, above, inner))
    return jnp.exp(y)
