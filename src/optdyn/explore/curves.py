"""The explorer's curves: theory per optimizer (cached), simulation bands, and the page's JSON.

Theory curves come from :func:`optdyn.theory.run_available`, one optimizer at a time and kept
in a small LRU cache keyed by the problem's spec, the optimizer's spec and the horizon: moving
one optimizer's slider recomputes that optimizer's curve only. Each curve carries its limit
risk R_inf and critical rate (:func:`optdyn.theory.limit_risk`, :func:`optdyn.theory.critical_lr`
of the law) and, where there is no curve or it diverges, the reason in words.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

from optdyn import theory
from optdyn._core.spec import canonical_json
from optdyn.config import Experiment, parse_experiment
from optdyn.explore.view import document
from optdyn.plot import style
from optdyn.plot._draw import sim_part, theory_part

__all__ = ["experiment", "theory_payload", "sim_payload", "X", "BAND"]

#: The x coordinate of the page and of its PNG (t = samples / d, the field's convention).
X = "t"
#: The simulation band: the 10% and 90% quantiles of the seeds that did not diverge.
BAND = (0.1, 0.9)

_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 256
_LOCK = threading.Lock()
_COMPUTE = threading.Lock()
_POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                           thread_name_prefix="optdyn-theory")


def experiment(view: dict[str, Any], simulate: bool = False) -> Experiment:
    """The experiment of a checked view (what a saved view reruns with ``optdyn run``)."""
    return parse_experiment(document(view, simulate=simulate))


def _finite(a: Any) -> list[float | None]:
    """JSON numbers, with null where the value is not finite (the page leaves a gap)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=float)]


def _number(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _message(sub: xr.Dataset, reason: str | None) -> str | None:
    if reason is not None:
        return f"no theory: {reason}"
    lr = float(sub["lr"])
    crit = float(sub["critical_lr"])
    if bool(sub["diverged"]):
        msg = f"diverges at step {int(sub['diverged_step'])}"
        if np.isfinite(crit):
            msg += f": lr {lr:.4g} is above the critical rate {crit:.4g}"
        return msg
    if np.isfinite(crit) and lr > crit:
        return (f"lr {lr:.4g} is above the critical rate {crit:.4g}: the risk will diverge "
                "past this horizon")
    return None


def _one(exp: Experiment, opt: Any) -> dict[str, Any]:
    th = theory.run_available(exp.problem, [opt], exp.steps, exp.theory,
                              points_per_decade=exp.points_per_decade, warn=False,
                              **exp.theory_options)
    sub = th.isel(config=0)
    reasons = json.loads(th.attrs.get("no_theory", "{}"))
    reason = next(iter(reasons.values()), None)
    out: dict[str, Any] = {"label": str(sub["label"].values), "has_theory": reason is None,
                           "message": _message(sub, reason)}
    if reason is None:
        part = theory_part(sub, X, "risk")
        out.update(x=_finite(part.xs), risk=_finite(part.ys),
                   limit_risk=_number(float(sub["limit_risk"])),
                   critical_lr=_number(float(sub["critical_lr"])),
                   diverged=bool(part.diverged), x_div=part.x_div)
    return out


def theory_payload(view: dict[str, Any]) -> dict[str, Any]:
    """The page's theory JSON for a checked view: one entry per optimizer, in order, with
    ``x`` (t = samples / d), ``risk``, ``limit_risk``, ``critical_lr``, ``message`` and a
    colour of the project's palette."""
    exp = experiment(view)
    prob_key = canonical_json(exp.raw["problem"])
    run_key = canonical_json([exp.steps, exp.points_per_decade, exp.theory, exp.theory_options])
    keys = ["|".join((prob_key, canonical_json(spec), run_key)) for spec in exp.raw["optimizer"]]
    with _LOCK:
        found = {k: _CACHE[k] for k in keys if k in _CACHE}
        for k in found:
            _CACHE.move_to_end(k)
    todo = {k: opt for k, opt in zip(keys, exp.optimizers, strict=True) if k not in found}
    if todo:
        # the missing curves in parallel: each is a small compiled loop on one core, and
        # JAX lets go of the GIL while it runs (a divergence's warning is in the message;
        # the filters are process-wide, so the pool's work happens under this one block)
        with _COMPUTE, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            futures = {k: _POOL.submit(_one, exp, opt) for k, opt in todo.items()}
            fresh = {k: f.result() for k, f in futures.items()}
        with _LOCK:
            _CACHE.update(fresh)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        found.update(fresh)
    curves = [{**found[k], "color": style.color(i)} for i, k in enumerate(keys)]
    return {"x_label": "t = samples / d", "curves": curves}


def sim_payload(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The page's simulation JSON: per config the mean and the :data:`BAND` quantiles of the
    seeds that did not diverge, and how many diverged (the same split as the figures')."""
    out = []
    for c in range(ds.sizes["config"]):
        p = sim_part(ds.isel(config=c), X, "risk")
        entry: dict[str, Any] = {"x": _finite(p.xs), "n_runs": p.n_runs, "n_div": p.n_div}
        if p.good.shape[0]:
            lo, hi = np.quantile(p.good, BAND, axis=0)
            entry.update(mean=_finite(p.good.mean(axis=0)), lo=_finite(lo), hi=_finite(hi))
        out.append(entry)
    return out
