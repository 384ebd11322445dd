"""Comparing a simulation with a theory: the one error metric every figure and test uses.

For one config with seed-mean risk m(k) (over the seeds whose risk is finite at k) and theory
R(k), the relative error at checkpoint k is e(k) = |m(k) / R(k) - 1|, and the reported error is the
mean (or max) of e(k) over the checkpoints k > 0 (the start is shared by construction).

Policy for diverged seeds: a seed whose risk is not finite at a checkpoint is left out of the
mean there, and :func:`diverged_fraction` reports how many were left out, so a figure states it
instead of hiding it. A checkpoint where every seed diverged gives e(k) = nan and is skipped by
the reduction; a config where every checkpoint is nan gives nan.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import xarray as xr

__all__ = ["diverged_fraction", "mean_relative_error", "relative_error"]


def _theory_on(sim: xr.Dataset, th: xr.Dataset | xr.DataArray, var: str) -> np.ndarray:
    ref = th[var] if isinstance(th, xr.Dataset) else th
    if "step" in ref.dims and not np.array_equal(ref["step"].values, sim["step"].values):
        ref = ref.interp(step=sim["step"].values)
    return np.asarray(ref.values if isinstance(ref, xr.DataArray) else ref, dtype=float)


def relative_error(sim: xr.Dataset, th: xr.Dataset | xr.DataArray | np.ndarray, *,
                   var: str = "risk", reduce: Literal["mean", "max", "none"] = "mean"
                   ) -> np.ndarray:
    """Per config: the mean (``reduce="mean"``), max, or full curve (``"none"``) over checkpoints
    k > 0 of |mean_seeds R_sim(k) / R_theory(k) - 1|.

    ``sim`` holds ``var`` over (config, seed, step) or (seed, step); ``th`` holds ``var`` over
    (config, step) or (step,), or is an array of that shape; a theory on another step grid is
    interpolated onto the simulation's. Diverged seeds are left out of the seed mean (see the
    module docstring).
    """
    risk = sim[var]
    mean = risk.where(np.isfinite(risk)).mean("seed").values
    ref = th if isinstance(th, np.ndarray) else _theory_on(sim, th, var)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(mean / ref - 1.0)
    rel = np.atleast_2d(rel)[:, sim["step"].values > 0]
    if reduce == "none":
        return rel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows are reported as nan
        return np.nanmean(rel, axis=-1) if reduce == "mean" else np.nanmax(rel, axis=-1)


def mean_relative_error(sim: xr.Dataset, th: xr.Dataset | xr.DataArray | np.ndarray, *,
                        var: str = "risk") -> np.ndarray:
    """:func:`relative_error` with ``reduce="mean"``: one number per config."""
    return relative_error(sim, th, var=var, reduce="mean")


def diverged_fraction(sim: xr.Dataset, *, var: str = "risk") -> np.ndarray:
    """Per config: the fraction of seeds whose ``var`` is not finite at the last checkpoint."""
    bad = ~np.isfinite(sim[var].isel(step=-1))
    return np.atleast_1d(bad.mean("seed").values)
