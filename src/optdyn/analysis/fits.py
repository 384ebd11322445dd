"""Power-law fits with standard errors: the one fit every study and figure uses.

``fit_power_law(x, y)`` fits log10 y = a + s log10 x by ordinary least squares and returns the slope
s and intercept a with their standard errors (or bootstrap ones); ``slope(x, y)`` is its slope.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from optdyn._core.errors import ConfigError

__all__ = ["PowerLawFit", "fit_power_law", "slope"]


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """y ~ 10^intercept x^slope fitted in log10-log10; standard errors of slope and intercept."""

    slope: float
    slope_se: float
    intercept: float
    intercept_se: float
    n: int
    residual_std: float
    method: str

    def __str__(self) -> str:
        return f"{self.slope:.3f} +- {self.slope_se:.3f}"


def fit_power_law(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    bootstrap: int = 0,
    seed: int = 0,
) -> PowerLawFit:
    """Least-squares fit of log10 y = a + s log10 x.

    With X = log10 x, Y = log10 y, S_xx = sum (X - mean X)^2 and residual variance
    s^2 = RSS / (n - 2), the ordinary least-squares standard errors are

        se(s) = sqrt(s^2 / S_xx),    se(a) = sqrt(s^2 (1/n + mean(X)^2 / S_xx)).

    With ``bootstrap = B > 0`` the standard errors are instead the standard deviations of the
    estimates over B case-resampling bootstrap replicates (``seed`` for the resampling). On
    theory curves the residuals measure the departure from a pure power law over the window, not
    sampling noise, so the error is a curvature-driven uncertainty of the local exponent.

    Raises:
        ConfigError: fewer than 3 points, non-positive or non-finite values, or all x equal.
    """
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise ConfigError("y", f"has {ya.size} values, x has {xa.size}")
    if xa.size < 3:
        raise ConfigError("x", f"need at least 3 points for a slope and its error, got {xa.size}")
    for name, arr in (("x", xa), ("y", ya)):
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ConfigError(name, "must be finite and > 0 (the fit is in log-log)")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ConfigError("bootstrap", f"must be an integer >= 0, got {bootstrap!r}")
    lx, ly = np.log10(xa), np.log10(ya)
    n = lx.size
    mx = lx.mean()
    sxx = float(np.sum((lx - mx) ** 2))
    if not sxx > 0:
        raise ConfigError("x", "all x are equal: no slope")
    slope = float(np.sum((lx - mx) * (ly - ly.mean())) / sxx)
    icpt = float(ly.mean() - slope * mx)
    resid = ly - icpt - slope * lx
    s2 = float(resid @ resid) / max(n - 2, 1)
    slope_se = math.sqrt(s2 / sxx)
    icpt_se = math.sqrt(s2 * (1.0 / n + mx * mx / sxx))
    method = "ols"
    if bootstrap:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(bootstrap, n))
        bx, by = lx[idx], ly[idx]
        bmx = bx.mean(1, keepdims=True)
        bsxx = np.sum((bx - bmx) ** 2, axis=1)
        ok = bsxx > 0
        bs = np.sum((bx - bmx) * (by - by.mean(1, keepdims=True)), axis=1)[ok] / bsxx[ok]
        bi = by.mean(1)[ok] - bs * bmx[ok, 0]
        slope_se, icpt_se, method = float(np.std(bs, ddof=1)), float(np.std(bi, ddof=1)), \
            f"bootstrap({bootstrap})"
    return PowerLawFit(slope, slope_se, icpt, icpt_se, n, math.sqrt(s2), method)


def slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """The least-squares slope s of log y against log x (:func:`fit_power_law`'s ``slope``)."""
    return fit_power_law(x, y).slope
