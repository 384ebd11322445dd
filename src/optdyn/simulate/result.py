"""The one result builder of the simulations (streaming and full-batch runs).

Coordinates are the theory's (:func:`optdyn._core.results.step_coords`: ``step``, ``samples``,
``t = samples / d``, ``config`` with ``label`` and the hyperparameters) plus ``seed``; every
result carries ``diverged`` and ``diverged_step`` per run, the whole config as JSON and the
conventions.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from optdyn._core.results import common_attrs, spec_attrs, step_coords

__all__ = ["dataset"]


def dataset(problem: Any, opts: list[Any], seeds: np.ndarray, ckpts: np.ndarray,
            data: dict[str, Any], *, run_cfg: dict[str, Any], elapsed: float, single: bool,
            batch_size: int | None | str = "optimizer", coords: dict[str, Any] | None = None,
            attrs: dict[str, Any] | None = None) -> xr.Dataset:
    """A simulation Dataset of ``data`` (name -> (dims, array)) over (config, seed, ...)."""
    all_coords: dict[str, Any] = {"seed": ("seed", seeds),
                                  **step_coords(int(problem.d), opts, ckpts,
                                                batch_size=batch_size),
                                  **(coords or {})}
    ds = xr.Dataset(data, coords=all_coords)
    if "t" in ds.coords:
        ds["t"].attrs.update(long_name="t = samples / d")
    ds["diverged_step"].attrs.update(description="first checkpoint step reported as diverged, -1 "
                                     "if none; risk is inf from there on")
    config = {"problem": problem.to_config(), "optimizers": [o.to_config() for o in opts],
              "seeds": np.asarray(seeds).tolist(), **run_cfg}
    ds.attrs.update({**common_attrs("simulation", int(problem.d),
                                    json.dumps(config, default=str), elapsed), **(attrs or {})})
    if "points_per_decade" in run_cfg:  # streaming runs (full-batch runs are not studies)
        ds.attrs.update(spec_attrs(problem, opts, {
            "steps": run_cfg["steps"], "points_per_decade": run_cfg["points_per_decade"],
            "dtype": run_cfg["dtype"], "seeds": np.asarray(seeds).tolist(), "simulate": True,
            "theory": False}))
    return ds.isel(config=0) if single else ds
