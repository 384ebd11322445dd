"""The one result builder of the theory: every deterministic curve becomes a Dataset here.

Given the risk at the output steps of each config, it marks divergence (the first checkpoint
whose risk is not finite or exceeds the threshold; later checkpoints are inf), warns once per
diverged or stopped config, adds ``loss = risk + E[eps^2]/2`` where that is finite, the limit
risk and critical rate, the simulation's coordinates, the conventions, the config and the regime.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from optdyn._core.results import (
    RISK_CONVENTION,
    common_attrs,
    mark_divergence,
    spec_attrs,
    step_coords,
)
from optdyn._core.traps import warn_trap

__all__ = ["curves", "divergence"]

_TRANSIENT = 0.9  # a final risk above this fraction of R0 (with a limit below it): transient


def _named(opts: Sequence[Any], idx: np.ndarray) -> str:
    names = [opts[i].label() for i in idx[:4]]
    return ", ".join(names) + (f" and {len(idx) - 4} more" if len(idx) > 4 else "")


def _constant_lr(opt: Any) -> float:
    """The constant learning rate of a config (NaN for a schedule or a policy)."""
    lr = getattr(opt, "lr", None)
    value = getattr(lr, "value", lr) if type(lr).__name__ == "Constant" else lr
    try:
        return float(value) if np.ndim(value) == 0 else np.nan
    except (TypeError, ValueError):
        return np.nan


def _warn_traps(opts: Sequence[Any], risk: np.ndarray, diverged: np.ndarray, limit: np.ndarray,
                crit: np.ndarray, method: str, steps: int) -> None:
    """One warning, with the numbers, for configs whose constant lr is above the critical rate
    but had not diverged by the horizon, and one for configs whose horizon ends in the
    transient (final risk within 90% to 111% of R0, i.e. barely moved, while the limit risk is
    below 90% of R0; a risk rising to its noise floor is not a transient)."""
    lrs = np.asarray([_constant_lr(o) for o in opts], float)
    above = np.flatnonzero(~diverged & (lrs > crit))
    for i in above[:4]:
        warn_trap(f"{opts[i].label()}: lr = {lrs[i]:.6g} is above the critical lr "
                  f"{crit[i]:.6g} of the {method} theory, so the risk grows without bound (it "
                  f"had not yet diverged after {steps} steps)", stacklevel=4)
    r0, end = risk[:, 0], risk[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = end / r0
        slow = np.flatnonzero(~diverged & (r0 > 0) & np.isfinite(end) & (ratio > _TRANSIENT)
                              & (ratio < 1 / _TRANSIENT)
                              & ~(limit >= _TRANSIENT * r0) & ~(lrs > crit))
    if slow.size:
        i = slow[0]
        warn_trap(f"the horizon ends in the transient for {_named(opts, slow)}: after {steps} "
                  f"steps the {method} theory risk is still {ratio[i]:.0%} of R0 = {r0[i]:.4g}"
                  + (f" (its limit is {limit[i]:.4g})" if np.isfinite(limit[i]) else "")
                  + "; take more steps or a larger lr", stacklevel=4)


def divergence(risk: np.ndarray, status: np.ndarray) -> np.ndarray:
    """The bad checkpoints of a (configs, steps) theory risk for ``mark_divergence``: +-inf,
    above the threshold (checked by the caller), or NaN after the integrator reported
    divergence (status 1); NaN from a stopped integrator (status 2) is not divergence."""
    return ~np.isfinite(risk) & (~np.isnan(risk) | (status[:, None] == 1))


def curves(
    problem: Any,
    opts: Sequence[Any],
    ckpts: np.ndarray,
    risk: np.ndarray,
    *,
    status: np.ndarray,
    n_substeps: np.ndarray,
    limits: Sequence[tuple[float, float]],
    method: str,
    threshold: float,
    config: dict[str, Any],
    regime: dict[str, str],
    elapsed: float,
    extras: dict[str, tuple[tuple[str, ...], np.ndarray]] | None = None,
    single: bool = False,
) -> xr.Dataset:
    """The theory Dataset of ``risk`` (configs, steps) on the output steps ``ckpts``.

    ``extras`` maps a variable name to (dims after ``config``, array (configs, ...)); a ``mode``
    dimension gets the coordinates ``mode`` (1..d) and ``eigenvalue``.
    """
    # |R| above the threshold: a risk is >= 0, but an unstable block system (momentum) can
    # blow up through negative values in floating point
    bad = divergence(risk, status) | (np.abs(risk) > threshold)
    risk, diverged, div_step = mark_divergence(risk, ckpts, bad)
    limit = np.asarray([lr for lr, _ in limits], dtype=float)
    crit = np.asarray([c for _, c in limits], dtype=float)
    for i in np.flatnonzero(diverged):
        warn_trap(f"{opts[i].label()} diverged at step {div_step[i]}: its risk exceeds "
                  f"{threshold:.3g}; the critical learning rate of the {method} theory is "
                  f"{crit[i]:.6g}", stacklevel=3)
    _warn_traps(opts, risk, diverged, limit, crit, method, int(ckpts[-1]))
    for i in np.flatnonzero(status == 2):
        warnings.warn(f"{opts[i].label()}: the integrator stopped after {n_substeps[i]} steps "
                      "(max_substeps or failed error control); later checkpoints are NaN",
                      stacklevel=3)

    coords = step_coords(problem.d, list(opts), ckpts)
    data: dict[str, Any] = {
        "risk": (("config", "step"), risk),
        "diverged": ("config", diverged),
        "diverged_step": ("config", div_step),
        "limit_risk": ("config", limit),
        "critical_lr": ("config", crit),
        "n_substeps": ("config", np.asarray(n_substeps)),
    }
    for name, (dims, arr) in (extras or {}).items():
        data[name] = (("config", *dims), arr)
        if "mode" in dims and "mode" not in coords:
            coords["mode"] = ("mode", np.arange(1, problem.d + 1))
            coords["eigenvalue"] = ("mode", np.asarray(problem.eigenvalues, float))
    m2 = problem.noise_second_moment
    if math.isfinite(m2):
        data["loss"] = (("config", "step"), risk + 0.5 * m2)
    ds = xr.Dataset(data, coords=coords)
    ds["risk"].attrs.update(long_name=f"excess population risk (theory, {method})",
                            convention=RISK_CONVENTION)
    ds["t"].attrs.update(long_name="t = samples / d")
    ds["limit_risk"].attrs.update(description="fixed point of the risk at a constant learning "
                                  "rate (NaN for schedules, inf above the critical rate)")
    ds["critical_lr"].attrs.update(description="largest constant per-step learning rate with "
                                   "a bounded risk (inf: never diverges)")
    ds.attrs.update(**common_attrs("theory", problem.d, json.dumps(config, default=str),
                                   elapsed), method=method, dtype="float64",
                    regime=json.dumps(regime))
    if "at" not in config:
        ds.attrs.update(spec_attrs(problem, opts, {
            "steps": config["steps"], "points_per_decade": config["points_per_decade"],
            "simulate": False, "theory": {"method": method, "rtol": config["rtol"],
                                          **config.get("options", {})}}))
    return ds.isel(config=0) if single else ds
