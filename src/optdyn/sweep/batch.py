"""One batch of a sweep: the points that share a problem, evaluated in one call per engine.

:func:`run_batch` is a pure function of its task (the point specs and their numbers): it builds
the problem once, stacks the optimizers of every point as configs (the engines vmap configs of
one structure, so a learning-rate or momentum grid is one compiled call), and runs the
simulation (:func:`optdyn.simulate.run`, the same seeds for every point: common random numbers)
and the theory (:func:`optdyn.theory.run_available`, NaN where a config has no theory). The
sample stream depends only on the seeds, and both engines run configs in stacks of a fixed width
(the study's ``stack``, default 8; XLA picks its kernels by the stack's width, see ``stack`` of
:func:`optdyn.simulate.run` and :func:`optdyn.theory.run`), so results do not depend on how a
grid is cut into batches nor on the worker that runs it: they agree to the bit.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from optdyn._core.spec import canonical_json
from optdyn._core.traps import quiet_traps
from optdyn.study import build_problem, optimizer_objects

__all__ = ["run_batch"]

SIM_VARS = ("risk", "diverged", "diverged_step")
THEORY_VARS = {"risk": "theory_risk", "loss": "theory_loss", "diverged": "theory_diverged",
               "diverged_step": "theory_diverged_step", "limit_risk": "limit_risk",
               "critical_lr": "critical_lr", "has_theory": "has_theory"}


def _split(ds: xr.Dataset, names: dict[str, str], n_points: int, n_opt: int) -> dict:
    """Variables over ``config`` = (point, optimizer) as (point, config, ...)."""
    out = {}
    for name, new in names.items():
        if name not in ds:
            continue
        arr = np.asarray(ds[name].values)
        dims = ds[name].dims
        arr = arr.reshape((n_points, n_opt) + arr.shape[1:])
        out[new] = (("point", "config") + tuple(dims[1:]), arr)
    return out


def run_batch(task: dict[str, Any]) -> xr.Dataset:
    """The Dataset of one batch: ``task = {"points": [...], "specs": [...]}`` (point specs that
    share their problem and run settings, see :func:`optdyn.study.Study.point_spec`).

    Variables (dims ``point``, ``config``, then ``seed``/``step``): ``risk``, ``diverged``,
    ``diverged_step`` of the simulation; ``theory_risk``, ``theory_diverged``,
    ``theory_diverged_step``, ``limit_risk``, ``critical_lr``, ``has_theory`` of the theory;
    ``label`` and ``kind`` (the optimizer's name) of every config.
    """
    from optdyn import simulate, theory

    t0 = time.perf_counter()
    specs, points = task["specs"], list(task["points"])
    base = specs[0]
    problem = build_problem(base["problem"])
    first = optimizer_objects(base)
    opts = [first] + [optimizer_objects(s) for s in specs[1:]]
    n_p, n_o = len(specs), len(first)
    flat = [o for group in opts for o in group]
    data: dict[str, Any] = {}
    coords: dict[str, Any] = {"point": ("point", np.asarray(points, np.int64)),
                              "config": ("config", np.arange(n_o))}
    steps, ppd = base["steps"], base["points_per_decade"]
    if base["simulate"]:
        sim = simulate.run(problem, flat, steps, seeds=base["seeds"], dtype=base["dtype"],
                           points_per_decade=ppd, progress=False, stack=base.get("stack", 8))
        data.update(_split(sim, {v: v for v in SIM_VARS}, n_p, n_o))
        coords.update(seed=("seed", sim["seed"].values), step=("step", sim["step"].values))
    no_theory = "{}"
    if base["theory"]:
        options = dict(base["theory"])
        method = options.pop("method")
        with quiet_traps():  # divergence and missing theories are recorded per point
            th = theory.run_available(problem, flat, steps, method, points_per_decade=ppd,
                                      stack=base.get("stack", 8), warn=False,
                                      **options)
        data.update(_split(th, THEORY_VARS, n_p, n_o))
        coords.setdefault("step", ("step", th["step"].values))
        no_theory = th.attrs.get("no_theory", "{}")
    labels = np.asarray([o.label() for o in flat], dtype=object).reshape(n_p, n_o)
    data["label"] = (("point", "config"), labels)
    data["kind"] = (("point", "config"),
                    np.asarray([o.name for o in flat], dtype=object).reshape(n_p, n_o))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(kind="sweep-batch", specs=canonical_json(specs), no_theory=no_theory,
                    elapsed_s=time.perf_counter() - t0, d=int(problem.d))
    return ds
