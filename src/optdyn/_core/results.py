"""Coordinates and attributes shared by the simulation and theory results.

Both engines return ``xarray.Dataset``s on the same coordinates (``step``, ``samples``,
``t = samples / d``, ``config`` with ``label`` and the numeric hyperparameters), so that a theory
curve and a simulation overlay without being told what an axis means.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from optdyn._version import __version__

__all__ = ["RISK_CONVENTION", "TIME_CONVENTION", "step_coords", "common_attrs"]

RISK_CONVENTION = (
    "risk = excess population risk (1/2)(theta - theta*)^T K (theta - theta*), exact from K; "
    "loss = risk + E[eps^2]/2"
)
TIME_CONVENTION = "step = optimizer steps; samples = step * batch_size; t = samples / d"


def _hyper_coords(opts: list[Any]) -> dict[str, np.ndarray]:
    cfgs = [o.to_config() for o in opts]
    keys = sorted({k for c in cfgs for k in c} - {"optimizer", "label", "batch_size"})
    out = {}
    for k in keys:
        vals = [c.get(k) for c in cfgs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            out[k] = np.asarray(vals, dtype=float)
    out["batch_size"] = np.asarray([o.batch_size for o in opts])
    return out


def step_coords(d: int, opts: list[Any], ckpts: np.ndarray) -> dict[str, Any]:
    """Coordinates ``step``, ``samples``, ``t``, ``config``, ``label`` and hyperparameters."""
    bsz = np.asarray([o.batch_size for o in opts])
    coords: dict[str, Any] = {"step": ("step", ckpts)}
    if np.all(bsz == bsz[0]):
        samples = ckpts * int(bsz[0])
        coords["samples"] = ("step", samples)
        coords["t"] = ("step", samples / d)
    else:
        samples = bsz[:, None] * ckpts[None, :]
        coords["samples"] = (("config", "step"), samples)
        coords["t"] = (("config", "step"), samples / d)
    coords["config"] = ("config", np.arange(len(opts)))
    coords["label"] = ("config", [o.label() for o in opts])
    for k, v in _hyper_coords(opts).items():
        coords[k] = ("config", v)
    return coords


def common_attrs(kind: str, d: int, config_json: str, elapsed_s: float) -> dict[str, Any]:
    """Attributes every result carries: version, kind, config, conventions, backend."""
    return dict(
        optdyn_version=__version__,
        kind=kind,
        config=config_json,
        risk_convention=RISK_CONVENTION,
        time_convention=TIME_CONVENTION,
        lr_convention="lr is the per-step learning rate",
        backend=jax.default_backend(),
        d=d,
        elapsed_s=elapsed_s,
    )
