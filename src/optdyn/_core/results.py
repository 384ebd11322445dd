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

__all__ = ["RISK_CONVENTION", "TIME_CONVENTION", "step_coords", "common_attrs", "mark_divergence"]

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


def step_coords(d: int, opts: list[Any], ckpts: np.ndarray, *,
                batch_size: int | None | str = "optimizer") -> dict[str, Any]:
    """Coordinates ``step``, ``samples``, ``t``, ``config``, ``label`` and hyperparameters.

    ``samples = step * B`` and ``t = samples / d`` everywhere (one meaning of t). B is each
    optimizer's ``batch_size`` (default), or the run's ``batch_size`` when given; ``None``
    means exact (full-batch) gradients, which draw no samples: then only ``step`` is a time
    coordinate and ``samples``, ``t`` are absent.
    """
    coords: dict[str, Any] = {"step": ("step", ckpts)}
    if batch_size is None:
        bsz = None
    elif batch_size == "optimizer":
        bsz = np.asarray([o.batch_size for o in opts])
    else:
        bsz = np.full(len(opts), int(batch_size))
    if bsz is None:
        pass
    elif np.all(bsz == bsz[0]):
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
    if bsz is None:
        coords.pop("batch_size")
    else:
        coords["batch_size"] = ("config", bsz)
    return coords


def mark_divergence(risk: np.ndarray, ckpts: np.ndarray, bad: np.ndarray,
                    stop: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one divergence rule of both engines: a run (any leading dims, checkpoints last) is
    diverged from its first ``bad`` checkpoint (or from the index ``stop``, e.g. where it was
    frozen); its risk is inf from there on.

    Returns (risk, diverged, diverged_step), diverged_step = -1 for a run that did not diverge.
    """
    n_k = risk.shape[-1]
    first = np.where(bad.any(-1), bad.argmax(-1), n_k)
    if stop is not None:
        first = np.minimum(first, stop)
    diverged = first < n_k
    risk = np.where(np.arange(n_k) >= first[..., None], np.inf, risk)
    return risk, diverged, np.where(diverged, ckpts[np.minimum(first, n_k - 1)], -1)


def spec_attrs(problem: Any, opts: Any, run: dict[str, Any]) -> dict[str, str]:
    """``attrs["spec"]``: the study spec (:mod:`optdyn.study`) that computes a result again
    (``optdyn run RESULT.nc``), as canonical JSON; ``attrs["spec_error"]`` says why a result
    built from objects without a spec (a Python callable, an unregistered class) has none."""
    from optdyn._core.errors import ConfigError
    from optdyn._core.spec import canonical_json, to_spec

    try:
        spec = {"problem": to_spec(problem, "problem"),
                "optimizer": [to_spec(o, f"optimizer[{i}]") for i, o in enumerate(opts)], **run}
    except ConfigError as e:
        return {"spec_error": str(e)}
    return {"spec": canonical_json(spec)}


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
